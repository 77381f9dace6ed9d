/**
 * SPEC §15 with real Debian phones: linphonec (linphone-cli 5.1) and baresip 1.0
 * over SIP/TLS with mandatory SRTP join one session of a real reflector process
 * and hear each other's tone; a plain phone and an SRTP phone hear each other;
 * an SRTP phone in mix mode hears the mix; `SRTP required` answers a plain
 * offer 488. The reflector's certificate is made by the test (openssl, temp
 * dir). Phones run on 127.0.0.1 with ports 462xx (their media leaves from
 * there, INTEROP.md); the reflector on 127.0.60.1.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runClient } from '../../tools/client.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { makeTestCert } from '../helpers/tls-cert.js';
import { waitUntil } from '../helpers/wait.js';
import { baresipAvailable, fileSize, startBaresip, stopAllBaresip } from './baresip.js';
import { linphonecAvailable, startLinphonec, stopAllLinphonec } from './linphonec.js';
import { readWavS16Mono } from '../../tools/lib/media.js';
import { analyseTone, wavHasTone } from './tone.js';

const IP = '127.0.60.1';
const TLS_URI = (session: string, params = ''): string => `sip:${session}@${IP}:5061;transport=tls${params}`;

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.error?.message ?? ''} ${r.stderr}`);
}

describe('interop: real phones over SIP/TLS with SRTP (SPEC §15)', function () {
  this.timeout(90_000);
  let refl: ReflectorProcess | null = null;
  let dir = '';
  const wav = (hz: number): string => join(dir, `tone${hz}.wav`);

  before(function () {
    const missing = !linphonecAvailable() || !baresipAvailable();
    if (missing && process.env.CI === undefined) this.skip();
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rr-srtp-ph-'));
    for (const hz of [600, 1000, 440]) sox(['-n', '-r', '8000', '-c', '1', '-b', '16', wav(hz), 'synth', '40', 'sine', String(hz)]);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && refl !== null) console.log(refl.output().slice(-3000));
    await stopAllLinphonec();
    await stopAllBaresip();
    await refl?.stop();
    refl = null;
    rmSync(dir, { recursive: true, force: true });
  });

  async function reflector(extra = ''): Promise<ReflectorProcess> {
    const cert = makeTestCert(dir, 'reflector', IP);
    refl = await startReflector({ config: baseConfig(IP, `TLS_CERT ${cert.cert}\nTLS_KEY ${cert.key}\n${extra}`) });
    return refl;
  }

  it('linphonec, baresip and sox are installed (this test fails without them in CI)', () => {
    expect(linphonecAvailable(), 'linphonec: apt-get install linphone-cli').to.equal(true);
    expect(baresipAvailable(), 'baresip: apt-get install baresip-core').to.equal(true);
    expect(spawnSync('sh', ['-c', 'command -v sox && command -v openssl']).status, 'sox, openssl').to.equal(0);
  });

  it('linphonec and baresip, both TLS with mandatory SRTP, hear each other\'s tone', async () => {
    const r = await reflector('SRTP required');
    const lp = startLinphonec({ address: '127.0.0.1', sipPort: 0, codecs: ['PCMU/8000'], sipTlsPort: 46261, rtpPort: 46270, user: 'linda', srtp: 'mandatory', playWav: wav(600) });
    await new Promise((res) => setTimeout(res, 1500)); // linphonec needs a moment before its first call
    lp.send(`call ${TLS_URI('secure')}`);
    await lp.waitFor('connected', 20_000);
    const bs = startBaresip({
      sipPort: 46280, rtpPorts: [46290, 46299], sourceWav: wav(1000), dial: TLS_URI('secure'), user: 'barry', domain: IP,
      modules: ['srtp.so'], accountParams: ';mediaenc=srtp-mand',
    });
    await bs.waitFor('Call established', 20_000);
    await waitUntil(() => fileSize(bs.decodedWav()) > 44 + 3 * 16000, 20_000, "baresip's recording to reach 3 s");
    await new Promise((res) => setTimeout(res, 1000));
    await Promise.all([lp.stop(), bs.stop()]);
    // Both legs were SRTP over TLS: the SDP answers carried RTP/SAVP, nothing was refused.
    const joins = r.logs.filter((l) => l.event === 'participant_joined');
    expect(joins, r.output().slice(-2000)).to.have.length(2);
    expect(r.logs.some((l) => l.event === 'srtp_keys_in_clear')).to.equal(false);
    const lpHeard = wavHasTone(lp.recordWav, 1000);
    const bsHeard = wavHasTone(bs.decodedWav() ?? '', 600);
    expect(lpHeard.present, `linphonec hears baresip's 1 kHz: ${JSON.stringify(lpHeard.report)}`).to.equal(true);
    expect(bsHeard.present, `baresip hears linphonec's 600 Hz: ${JSON.stringify(bsHeard.report)}`).to.equal(true);
  });

  it('a plain phone (baresip, UDP, RTP/AVP) and an SRTP phone (linphonec, TLS) hear each other', async () => {
    await reflector();
    const lp = startLinphonec({ address: '127.0.0.1', sipPort: 0, codecs: ['PCMU/8000'], sipTlsPort: 46262, rtpPort: 46272, user: 'linda', srtp: 'mandatory', playWav: wav(600) });
    await new Promise((res) => setTimeout(res, 1500));
    lp.send(`call ${TLS_URI('mixed')}`);
    await lp.waitFor('connected', 20_000);
    const bs = startBaresip({ sipPort: 46282, rtpPorts: [46300, 46309], sourceWav: wav(1000), dial: `sip:mixed@${IP}`, user: 'barry', domain: IP });
    await bs.waitFor('Call established', 20_000);
    await waitUntil(() => fileSize(bs.decodedWav()) > 44 + 3 * 16000, 20_000, "baresip's recording to reach 3 s");
    await new Promise((res) => setTimeout(res, 1000));
    await Promise.all([lp.stop(), bs.stop()]);
    expect(wavHasTone(lp.recordWav, 1000).present, 'SRTP phone hears the plain phone').to.equal(true);
    expect(wavHasTone(bs.decodedWav() ?? '', 600).present, 'plain phone hears the SRTP phone').to.equal(true);
  });

  it('an SRTP phone in mix mode (baresip, TLS, ;mode=mix) hears the mix of two others', async () => {
    await reflector();
    const bs = startBaresip({
      sipPort: 46284, rtpPorts: [46310, 46319], sourceWav: wav(600), dial: TLS_URI('mixroom', ';mode=mix'), user: 'barry', domain: IP,
      modules: ['srtp.so'], accountParams: ';mediaenc=srtp-mand',
    });
    await bs.waitFor('Call established', 20_000);
    // Two clients of our own: one SRTP over TLS (440 Hz), one plain (1 kHz).
    const a = runClient({ server: IP, serverPort: 5061, session: 'mixroom', local: '127.0.60.30', toneHz: 440, durationS: 6, tls: true, tlsVerify: false, srtp: 'AES_CM_128_HMAC_SHA1_80' });
    const b = runClient({ server: IP, serverPort: 5060, session: 'mixroom', local: '127.0.60.31', toneHz: 1000, durationS: 6 });
    const [sa, sb] = await Promise.all([a, b]);
    expect(sa.error ?? sb.error).to.equal(undefined);
    await bs.stop();
    // Two tones of equal level in one mix: each carries about half the power (as in mixer-baresip.test.ts).
    const w = readWavS16Mono(bs.decodedWav() ?? '');
    const h440 = analyseTone(w.samples, w.rateHz, 440, 0.3);
    const h1000 = analyseTone(w.samples, w.rateHz, 1000, 0.3);
    const own = analyseTone(w.samples, w.rateHz, 600, 0.3);
    expect(h440.toneBlocks / 10, `mix has the SRTP client's 440 Hz: ${JSON.stringify(h440)}`).to.be.at.least(2);
    expect(h1000.toneBlocks / 10, `mix has the plain client's 1 kHz: ${JSON.stringify(h1000)}`).to.be.at.least(2);
    expect(own.toneBlocks, 'mix-minus: not its own 600 Hz').to.be.at.most(2);
  });

  it('SRTP required answers a plain phone\'s offer 488', async () => {
    const r = await reflector('SRTP required');
    const bs = startBaresip({ sipPort: 46286, rtpPorts: [46320, 46329], sourceWav: wav(600), dial: `sip:strict@${IP}`, user: 'plain', domain: IP });
    await bs.waitFor('488', 20_000);
    await bs.stop();
    expect(bs.output()).to.match(/488 SRTP required/);
    expect(r.logs.some((l) => l.event === 'participant_joined')).to.equal(false);
  });
});
