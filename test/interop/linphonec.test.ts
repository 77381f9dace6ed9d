/**
 * Interop with real linphonec 5.1 (and baresip 1.0) against a real reflector process:
 * - DTMF (RFC 4733) from an opus-only linphonec (telephone-event/48000) reaches a PCMU-only baresip
 *   (telephone-event/8000) in mix and in reflect mode. Checked by baresip's own log of the events it
 *   decoded ("received event: '5' (end=1)"), which it prints only for packets with the
 *   telephone-event payload type it negotiated.
 * - The answer to a mixed-numbering offer keeps the offerer's numbers (RFC 3264 §6.1): the session
 *   already has 97 = telephone-event/48000 when a second linphonec offers 97 = speex/16000; and its
 *   DTMF still reaches the first linphonec through the per-recipient PT rewrite.
 * - Mix-mode hold: a phone's mixed stream stops within 100 ms of the 200 OK to its sendonly
 *   re-INVITE, measured at its receiving socket (our SIP UAC from tools/lib and a UDP socket of the
 *   test are the phone here: linphonec's own socket cannot be observed).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdpTransform from 'sdp-transform';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { bindUdp, type TestUdp } from '../helpers/udp.js';
import { waitUntil } from '../helpers/wait.js';
import { baresipAvailable, startBaresip, stopAllBaresip } from './baresip.js';
import { linphonecAvailable, sdpExchange, startLinphonec, stopAllLinphonec, type Linphonec } from './linphonec.js';

const IP = '127.0.80.40';

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.error?.message ?? ''} ${r.stderr}`);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts linphonec, switches it to files (no sound card) and calls `uri`; resolves once connected. */
async function call(l: Linphonec, uri: string): Promise<void> {
  await l.waitFor('linphonec>', 10_000);
  l.send('soundcard use files');
  await l.waitFor('Using wav files', 10_000);
  // INTEROP.md: give it ~1.5 s after start before calling.
  await pause(1500);
  l.send(`call ${uri}`);
  await l.waitFor('connected.', 20_000);
}

/** payload type → "name/rate" of the first audio m-line of `sdp` (static types without rtpmap included). */
function ptMap(sdp: string): Map<number, string> {
  const m = sdpTransform.parse(sdp).media.find((x) => x.type === 'audio');
  const out = new Map<number, string>();
  const statics: Record<number, string> = { 0: 'pcmu/8000', 8: 'pcma/8000', 9: 'g722/8000', 3: 'gsm/8000', 18: 'g729/8000' };
  for (const pt of String(m?.payloads ?? '').split(/\s+/).filter((s) => s !== '').map(Number)) {
    const r = m?.rtp.find((x) => x.payload === pt);
    const v = r !== undefined ? `${r.codec}/${r.rate}`.toLowerCase() : statics[pt];
    if (v !== undefined) out.set(pt, v);
  }
  return out;
}

describe('interop: linphonec (DTMF across codecs, RFC 3264 numbering, mix-mode hold)', function () {
  this.timeout(120_000);
  let refl: ReflectorProcess | null = null;
  let dir = '';
  const sipClients: SipUdpClient[] = [];
  const socks: TestUdp[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lpi-'));
  });

  afterEach(async () => {
    for (const s of sipClients.splice(0)) s.close();
    for (const s of socks.splice(0)) await s.close();
    await stopAllLinphonec();
    await stopAllBaresip();
    await refl?.stop();
    refl = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('linphonec, baresip and sox are installed (the interop test fails without them)', () => {
    expect(linphonecAvailable(), 'linphonec: apt-get install linphone-cli').to.equal(true);
    expect(baresipAvailable(), 'baresip with g722.so and opus.so: apt-get install baresip-core').to.equal(true);
    expect(spawnSync('sh', ['-c', 'command -v sox']).status, 'sox not on PATH').to.equal(0);
  });

  for (const mode of ['mix', 'reflect'] as const) {
    it(`${mode} mode: DTMF from an opus linphonec (telephone-event/48000) reaches a PCMU baresip (telephone-event/8000)`, async () => {
      const silence = join(dir, 'silence.wav');
      sox(['-n', '-r', '8000', '-c', '1', '-b', '16', silence, 'trim', '0', '60']);
      refl = await startReflector({ config: baseConfig(IP) });
      const uri = `sip:dtmf@${IP}${mode === 'mix' ? ';mode=mix' : ''}`;
      const bob = startBaresip({ domain: IP, dial: uri, user: 'bob', sipPort: 47561, rtpPorts: [47570, 47579], sourceWav: silence, codecs: ['PCMU/8000'] });
      await bob.waitFor('Call established', 15_000);
      const lin = startLinphonec({ address: '127.0.80.41', sipPort: 47600, rtpPort: 47610, user: 'lin', codecs: ['opus/48000'] });
      await call(lin, uri);
      const { offers, answers } = sdpExchange(lin.log());
      expect([...ptMap(offers[0] ?? '').values()], 'linphonec offers opus and telephone-event/48000 only').to.deep.equal(['opus/48000', 'telephone-event/48000']);
      expect([...ptMap(answers[0] ?? '').values()]).to.deep.equal(['opus/48000', 'telephone-event/48000']);
      await pause(1000);
      lin.send('5');
      await pause(800);
      lin.send('9');
      await pause(800);
      // In reflect mode nothing else flows to baresip (linphonec sends no audio from an empty
      // source), and baresip's jitter buffer hands a packet on only when later ones arrive: a
      // third key pushes the second one's packets through.
      lin.send('1');
      const why = (): string => `baresip:\n${bob.output().slice(-2500)}\nlinphonec:\n${lin.transcript().slice(-1500)}`;
      await bob.waitFor("received event: '5' (end=1)", 10_000).catch((e: Error) => { throw new Error(`${e.message}\n${why()}`); });
      await bob.waitFor("received event: '9' (end=1)", 10_000).catch((e: Error) => { throw new Error(`${e.message}\n${why()}`); });
      expect(bob.output(), 'each key once, in order').to.match(/received event: '5' \(end=0\)[\s\S]*received event: '5' \(end=1\)[\s\S]*received event: '9' \(end=0\)/);
    });
  }

  it('answers a mixed-numbering offer with the offerer\'s numbers, and DTMF crosses the two numberings', async () => {
    refl = await startReflector({ config: baseConfig(IP) });
    const uri = `sip:numbers@${IP}`;
    // First phone: opus + telephone-event/48000, which linphonec numbers 96 and 97.
    const first = startLinphonec({ address: '127.0.80.42', sipPort: 47620, rtpPort: 47630, user: 'first', codecs: ['opus/48000'] });
    await call(first, uri);
    const firstAnswer = ptMap(sdpExchange(first.log()).answers[0] ?? '');
    expect(firstAnswer.get(97)).to.equal('telephone-event/48000');
    // Second phone: opus, speex/16000, PCMU: it numbers speex/16000 97 — another codec than the session's 97.
    const second = startLinphonec({ address: '127.0.80.41', sipPort: 47600, rtpPort: 47610, user: 'second', codecs: ['opus/48000', 'speex/16000', 'PCMU/8000'] });
    await call(second, uri);
    const { offers, answers } = sdpExchange(second.log());
    const offered = ptMap(offers[0] ?? '');
    const answered = ptMap(answers[0] ?? '');
    expect(offered.get(97), `the offer is mixed-numbered:\n${offers[0]}`).to.equal('speex/16000');
    expect(answered.size, `answer:\n${answers[0]}`).to.be.greaterThan(1);
    for (const [pt, c] of answered) expect(c, `PT ${pt} in the answer\n${answers[0]}\noffer:\n${offers[0]}`).to.equal(offered.get(pt));
    expect(answered.has(97), 'speex is not accepted, so 97 is not in the answer').to.equal(false);
    expect([...answered.values()].filter((c) => c.startsWith('telephone-event/')).sort()).to.deep.equal(['telephone-event/48000', 'telephone-event/8000']);

    // The second phone's key reaches the first one through the PT rewrite (its telephone-event/48000 number → 97).
    await pause(1000);
    second.send('7');
    await first.waitFor('Receiving tone 7', 10_000).catch((e: Error) => { throw new Error(`${e.message}\n${first.transcript().slice(-1500)}`); });
  });

  it('mix mode: hold (sendonly re-INVITE) silences the phone\'s mixed stream within 100 ms at its socket', async () => {
    refl = await startReflector({ config: baseConfig(IP) });
    const uri = `sip:hold@${IP};mode=mix`;
    const lin = startLinphonec({ address: '127.0.80.41', sipPort: 47600, rtpPort: 47610, user: 'lin', codecs: ['opus/48000'] });
    await call(lin, uri);

    const local = '127.0.80.43';
    const media = await bindUdp(local);
    socks.push(media);
    const arrivals: number[] = [];
    media.socket.on('message', (_m, rinfo) => {
      if (rinfo.address === IP && rinfo.port === 5566) arrivals.push(performance.now());
    });
    const sip = new SipUdpClient({ localAddress: local, server: IP, serverPort: 5060, user: 'held' });
    sipClients.push(sip);
    await sip.bind();
    const ssrc = 0x4e1d;
    const r = await sip.invite('hold', clientSdp(local, media.port, ssrc, 'held'), ';mode=mix');
    expect(r.status).to.equal(200);
    await waitUntil(() => arrivals.length >= 25, 10_000, 'the mixed stream at our socket');

    const hold = await sip.reInvite(clientSdp(local, media.port, ssrc, 'held', 'sendonly'));
    const heldAt = performance.now();
    expect(hold.status).to.equal(200);
    expect(sdpTransform.parse(hold.answerSdp ?? '').media[0]?.direction).to.equal('recvonly');
    await pause(1000);
    const late = arrivals.filter((t) => t > heldAt + 100);
    expect(late.map((t) => Math.round(t - heldAt)), 'packets later than 100 ms after the 200 OK to the hold (ms after it)').to.deep.equal([]);

    const resume = await sip.reInvite(clientSdp(local, media.port, ssrc, 'held', 'sendrecv'));
    expect(resume.status).to.equal(200);
    const before = arrivals.length;
    await waitUntil(() => arrivals.length >= before + 10, 10_000, 'the mixed stream again after resume');
    expect(await sip.bye()).to.equal(200);
  });
});
