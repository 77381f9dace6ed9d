/**
 * Reflectors behind Kamailio's dispatcher (Debian `kamailio`, the SHIPPED
 * deploy/kamailio/kamailio.cfg run unchanged; the test sets only its -A
 * parameters): Kamailio on 127.0.50.1, three real reflector processes on
 * 127.0.50.11/.12/.13, all with digest on (same realm and users), clients
 * dialling Kamailio.
 *
 * In order (one cluster for the whole file; each step builds on the last):
 * 1. six session names, two conference clients each (tools/client): both of a
 *    name on the same reflector, hearing each other; names spread over at
 *    least two reflectors; the SDP answer carries the reflector's own address;
 *    the clients' BYE (through Kamailio, along the route set) ends them there.
 * 2. SIPp (record-routed UAC scenario, digest `uri` in the proxy's form) and a
 *    baresip phone (with a client hearing its tone) through Kamailio.
 * 3. SIGKILL of a reflector: Kamailio marks it down within 10 s, new calls for
 *    its names succeed together on another one.
 * 4. SIGTERM of a reflector with DRAIN_TIMEOUT: OPTIONS and INVITE get 503 +
 *    Retry-After, Kamailio places new calls elsewhere, its live call goes on;
 *    when the time is up its BYE reaches the members through Kamailio and it
 *    exits 0.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdpTransform from 'sdp-transform';
import { clientSdp, MediaEndpoint } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { startClient, type ClientProcess } from '../helpers/client-cli.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';
import { baresipAvailable, startBaresip, stopAllBaresip } from './baresip.js';
import { kamailioAvailable, startKamailio, stopAllKamailio, type Kamailio } from './kamailio.js';
import { killAllSipp, runSipp, sippAvailable } from './sipp.js';

const KAM = '127.0.50.1';
const REFLECTORS = ['127.0.50.11', '127.0.50.12', '127.0.50.13'] as const;
const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'] as const;
const USERS = [['alice', 'alice-pw'], ['bob', 'bob-pw']] as const;
const DRAIN_S = 8;

/** A call through Kamailio held open by the test itself (SIP UAC + media sending a tone). */
interface Member {
  readonly sip: SipUdpClient;
  readonly media: MediaEndpoint;
  readonly status: number;
  /** c= of the SDP answer: the reflector the call landed on. */
  readonly reflector?: string;
}

async function joinViaKamailio(local: string, session: string, user: string, password: string): Promise<Member> {
  const media = new MediaEndpoint({ localAddress: local, remoteAddress: KAM, remoteRtpPort: 0, toneHz: 1000, cname: `${user}@${local}` });
  const rtpPort = await media.bind();
  const sip = new SipUdpClient({ localAddress: local, server: KAM, serverPort: 5060, user, password, algorithms: ['MD5'] });
  await sip.bind();
  const res = await sip.invite(session, clientSdp(local, rtpPort, media.ssrc, user));
  if (res.status !== 200 || res.answerSdp === undefined) return { sip, media, status: res.status };
  const answer = sdpTransform.parse(res.answerSdp);
  const audio = answer.media.find((m) => m.type === 'audio' && m.port > 0);
  const address = audio?.connection?.ip ?? answer.connection?.ip;
  if (address !== undefined && audio !== undefined) {
    media.setRemote(address, audio.port);
    media.start();
  }
  return { sip, media, status: res.status, ...(address !== undefined ? { reflector: address } : {}) };
}

const heard = (rx: Member, tx: Member): number => rx.media.received.get(tx.media.ssrc)?.packets ?? 0;

describe('interop: reflectors behind Kamailio\'s dispatcher (shipped kamailio.cfg)', function () {
  this.timeout(90_000);
  const reflectors = new Map<string, ReflectorProcess>();
  const clients: ClientProcess[] = [];
  const members: Member[] = [];
  let kam: Kamailio | null = null;
  let dir = '';
  /** Session name → reflector address, from step 1. */
  const placement = new Map<string, string>();

  const reflectorConfig = (ip: string): string => baseConfig(ip, [
    'SIP_AUTH on', 'SIP_REALM conference.example', ...USERS.map(([u, p]) => `SIP_USER ${u} ${p}`),
    `DRAIN_TIMEOUT ${DRAIN_S}`,
  ].join('\n')).replace('STATUS_LISTEN off', `STATUS_LISTEN ${ip}:8080`);
  /** The SIP front end's counters of a reflector (GET /api/status). */
  const sipStats = async (ip: string): Promise<Record<string, number>> =>
    ((await (await fetch(`http://${ip}:8080/api/status`)).json()) as { sip: Record<string, number> }).sip;

  before(async function () {
    this.timeout(40_000);
    dir = mkdtempSync(join(tmpdir(), 'kam-test-'));
    const started = await Promise.allSettled(REFLECTORS.map((ip) => startReflector({ config: reflectorConfig(ip) })));
    REFLECTORS.forEach((ip, i) => { const r = started[i]; if (r?.status === 'fulfilled') reflectors.set(ip, r.value); });
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    kam = await startKamailio({ listenIp: KAM, reflectors: REFLECTORS.map((ip) => `sip:${ip}:5060`) });
    // Probing: every reflector answers the dispatcher's OPTIONS with 200 and is active.
    await waitUntil(() => {
      const list = kam?.dispatcherList() ?? [];
      return list.length === 3 && list.every((t) => t.flags.startsWith('A'));
    }, 10_000, 'all three reflectors active in kamcmd dispatcher.list');
  });

  afterEach(async function () {
    killAllSipp();
    await stopAllBaresip();
    for (const c of clients.splice(0)) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    for (const m of members.splice(0)) { m.sip.close(); await m.media.close(); }
    if (this.currentTest?.state === 'failed') {
      for (const [ip, r] of reflectors) process.stderr.write(`--- reflector ${ip}:\n${r.output().slice(-4000)}\n`);
      process.stderr.write(`--- ${kam?.output().slice(-6000) ?? 'no kamailio'}\n`);
    }
  });

  after(async () => {
    await stopAllKamailio();
    kam = null;
    for (const r of reflectors.values()) await r.stop();
    reflectors.clear();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('kamailio, kamcmd and the dispatcher module are installed (the test fails without them)', () => {
    expect(kamailioAvailable(), 'apt-get install kamailio').to.equal(true);
  });

  it('places both clients of each of six names on one reflector, spreads the names, answers with the reflector\'s address, and ends participants by BYE through Kamailio', async function () {
    this.timeout(60_000);
    const run = (name: string, i: number, j: number): ClientProcess => {
      const [user, password] = USERS[j] ?? USERS[0];
      const c = startClient({
        server: KAM, local: `127.0.50.${101 + 2 * i + j}`, session: name, cwd: dir, waitMs: 40_000, stepTimeoutS: 10,
        args: ['--user', user, '--password', password, '--duration', '4', '--tone', j === 0 ? '1000' : '500'],
      });
      clients.push(c);
      return c;
    };
    const pairs = NAMES.map((name, i) => [run(name, i, 0), run(name, i, 1)] as const);
    const results = await Promise.all(pairs.map(async ([a, b]) => [await a.done(), await b.done()] as const));
    for (const [i, [a, b]] of results.entries()) {
      const name = NAMES[i] ?? '';
      const why = `${name}: ${JSON.stringify(a.summary)}\n${JSON.stringify(b.summary)}`;
      expect([a.code, b.code], why).to.deep.equal([0, 0]);
      expect(a.summary.statuses, why).to.deep.equal([401, 200]); // the reflector's challenge, through Kamailio
      const ma = a.summary.media as { address: string; port: number };
      const mb = b.summary.media as { address: string; port: number };
      expect(REFLECTORS as readonly string[], why).to.include(ma.address);
      expect(mb.address, `${why}: both clients of a name on one reflector`).to.equal(ma.address);
      expect(ma.port, why).to.equal(5566);
      const got = (s: Record<string, unknown>, ssrc: unknown): number =>
        ((s.received as { ssrc: number; packets: number }[]).find((x) => x.ssrc === ssrc)?.packets ?? 0);
      expect(got(a.summary, b.summary.ssrc), `${why}: a hears b`).to.be.greaterThan(50);
      expect(got(b.summary, a.summary.ssrc), `${why}: b hears a`).to.be.greaterThan(50);
      expect([a.summary.byeStatus, b.summary.byeStatus], why).to.deep.equal([200, 200]);
      placement.set(name, ma.address);
    }
    // The reflector that answered is the one that holds the participants, and their BYE ended them there.
    for (const name of NAMES) {
      const r = reflectors.get(placement.get(name) ?? '');
      expect(r, name).to.not.equal(undefined);
      expect(r?.logs.filter((l) => l.event === 'participant_joined' && l.session === name).length, name).to.equal(2);
      expect(r?.logs.filter((l) => l.event === 'participant_left' && l.session === name && l.reason === 'bye').length, name).to.equal(2);
    }
    for (const [ip, r] of reflectors) {
      const foreign = r.logs.filter((l) => l.event === 'participant_joined' && placement.get(String(l.session)) !== ip);
      expect(foreign, `${ip} holds only its own names`).to.deep.equal([]);
    }
    expect(new Set(placement.values()).size, JSON.stringify([...placement])).to.be.at.least(2);
  });

  it('SIPp (record-routed, digest uri in the proxy\'s form) and baresip call through Kamailio', async function () {
    this.timeout(60_000);
    expect(sippAvailable(), 'apt-get install sip-tester').to.equal(true);
    expect(baresipAvailable(), 'apt-get install baresip-core').to.equal(true);
    const name = NAMES[0];
    const home = reflectors.get(placement.get(name) ?? REFLECTORS[0]);
    const count = (event: string, pred: (l: Record<string, unknown>) => boolean): number =>
      home?.logs.filter((l) => l.event === event && l.session === name && pred(l)).length ?? 0;
    const joinedBefore = count('participant_joined', (l) => l.user === 'alice');
    const byesBefore = count('participant_left', (l) => l.reason === 'bye');
    const r = await runSipp({
      scenario: 'uac-auth-proxy-routes.xml', remote: `${KAM}:5060`, localIp: '127.0.50.150',
      port: 5071, controlPort: 8951, mediaPort: 16510, service: name,
      auth: { user: 'alice', password: 'alice-pw', uri: `sip:${name}@${KAM}:5060` },
    });
    expect(r.code, r.output).to.equal(0);
    expect(r.output, 'the SDP answer names the reflector').to.include(`c=IN IP4 ${placement.get(name) ?? ''}`);
    expect(count('participant_joined', (l) => l.user === 'alice'), 'SIPp joined its name\'s reflector').to.equal(joinedBefore + 1);
    await waitUntil(() => count('participant_left', (l) => l.reason === 'bye') === byesBefore + 1, 5000, 'SIPp\'s BYE to end its participant');

    // baresip (runs on 127.0.0.1, see baresip.ts) plays a tone; a conference client in the same session hears it.
    const tone = join(dir, 'tone.wav');
    const sox = spawnSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', tone, 'synth', '30', 'sine', '1000'], { encoding: 'utf8' });
    expect(sox.status, sox.stderr).to.equal(0);
    const phone = startBaresip({ sipPort: 45560, rtpPorts: [45610, 45619], sourceWav: tone, dial: `sip:${name}@${KAM}`, user: 'bob', password: 'bob-pw', domain: KAM });
    await phone.waitFor('Call established', 15_000);
    const listener = await joinViaKamailio('127.0.50.151', name, 'alice', 'alice-pw');
    members.push(listener);
    expect(listener.status).to.equal(200);
    expect(listener.reflector).to.equal(placement.get(name));
    await waitUntil(() => [...listener.media.received.values()].some((s) => s.packets > 50), 10_000, 'the client to hear baresip');
    await waitUntil(() => phone.recordedBytes() > 8000, 10_000, 'baresip to record the client');
    // baresip's ACK followed its route set through Kamailio: nothing in-dialog came around it (from
    // 127.0.0.1 instead of Kamailio's address), no 2xx waited in vain for its ACK.
    const homeIp = placement.get(name) ?? '';
    const st = await sipStats(homeIp);
    expect(st.in_dialog_wrong_source ?? 0, JSON.stringify(st)).to.equal(0);
    expect(st.ack_timeouts ?? 0, JSON.stringify(st)).to.equal(0);
    // On SIGTERM baresip sends RTCP BYE and SIP BYE (through Kamailio); whichever arrives first ends it.
    const joined = home?.logs.find((l) => l.event === 'participant_joined' && l.session === name && l.user === 'bob' && String(l.streams).includes('127.0.0.1'));
    expect(joined, 'baresip\'s participant').to.not.equal(undefined);
    await phone.stop();
    rmSync(phone.dir, { recursive: true, force: true }); // stop() keeps the directory; stopAllBaresip() only removes those still running
    const left = await home?.waitForLog((l) => l.event === 'participant_left' && l.id === joined?.id, 8000)
      .catch((err: unknown) => { throw new Error(`${err instanceof Error ? err.message : String(err)}\nbaresip:\n${phone.output().slice(-5000)}`); });
    expect(['bye', 'rtcp_bye']).to.include(left?.reason);
    expect((await sipStats(homeIp)).in_dialog_wrong_source ?? 0).to.equal(0);
    expect(await listener.sip.bye()).to.equal(200);
  });

  it('takes a SIGKILLed reflector out within 10 s and places new calls for its names together on another one', async function () {
    this.timeout(60_000);
    // The reflector with the most names.
    const count = (ip: string): number => [...placement.values()].filter((x) => x === ip).length;
    const victim = [...REFLECTORS].sort((a, b) => count(b) - count(a))[0] ?? REFLECTORS[0];
    const names = NAMES.filter((n) => placement.get(n) === victim);
    expect(names.length).to.be.greaterThan(0);
    const proc = reflectors.get(victim);
    const t0 = Date.now();
    proc?.signal('SIGKILL');
    await proc?.exited();
    const down = await waitUntil(() => {
      const t = kam?.dispatcherList().find((x) => x.uri === `sip:${victim}:5060`);
      return t !== undefined && t.flags.startsWith('I') ? Date.now() - t0 : undefined;
    }, 12_000, `kamailio to mark ${victim} inactive`, 100);
    expect(down, 'marked down within 10 s').to.be.lessThan(10_000);
    await kam?.waitForOutput(new RegExp(`reflector down: sip:${victim.replace(/\./g, '\\.')}:5060`), 1000);

    for (const [i, name] of names.entries()) {
      const a = await joinViaKamailio(`127.0.50.${160 + 2 * i}`, name, 'alice', 'alice-pw');
      const b = await joinViaKamailio(`127.0.50.${161 + 2 * i}`, name, 'bob', 'bob-pw');
      members.push(a, b);
      expect([a.status, b.status], name).to.deep.equal([200, 200]);
      expect(a.reflector, name).to.not.equal(victim);
      expect(REFLECTORS as readonly string[]).to.include(a.reflector);
      expect(b.reflector, `${name}: both on one reflector`).to.equal(a.reflector);
      await waitUntil(() => heard(a, b) > 20 && heard(b, a) > 20, 5000, `${name}: the two to hear each other`);
      placement.set(name, a.reflector ?? '');
      expect(await a.sip.bye()).to.equal(200);
      expect(await b.sip.bye()).to.equal(200);
    }
    reflectors.delete(victim);
  });

  it('a reflector draining after SIGTERM refuses new calls with 503, Kamailio places them elsewhere, its live call continues until DRAIN_TIMEOUT, then its BYE comes through Kamailio', async function () {
    this.timeout(60_000);
    const alive = [...reflectors.keys()];
    expect(alive.length, 'two reflectors left after the previous test').to.equal(2);
    const name = NAMES.find((n) => alive.includes(placement.get(n) ?? '')) ?? NAMES[0];
    const drained = placement.get(name) ?? '';
    const proc = reflectors.get(drained);
    const a = await joinViaKamailio('127.0.50.180', name, 'alice', 'alice-pw');
    const b = await joinViaKamailio('127.0.50.181', name, 'bob', 'bob-pw');
    members.push(a, b);
    expect([a.reflector, b.reflector]).to.deep.equal([drained, drained]);
    await waitUntil(() => heard(a, b) > 20 && heard(b, a) > 20, 5000, 'the live call to flow');

    proc?.signal('SIGTERM');
    await proc?.waitForLog((l) => l.event === 'draining', 5000);
    // Through Kamailio, at once (before two failed probes can have taken it out): a new call for the
    // same name is refused by the draining reflector with 503, and Kamailio's failure_route places it
    // on the other one.
    const c = await joinViaKamailio('127.0.50.183', name, 'alice', 'alice-pw');
    members.push(c);
    expect(c.status).to.equal(200);
    expect(c.reflector).to.not.equal(drained);
    expect(alive).to.include(c.reflector);
    const failedOver = kam?.output().includes(`failover INVITE session=${name} to sip:${name}@${c.reflector ?? ''}:5060`) ?? false;
    const alreadyOut = kam?.dispatcherList().find((t) => t.uri === `sip:${drained}:5060`)?.flags.startsWith('I') ?? false;
    expect(failedOver || alreadyOut, 'the 503 made Kamailio fail over (or probing had already taken the reflector out)').to.equal(true);
    // Straight to the reflector: OPTIONS (the dispatcher's probe) gets 503 with Retry-After.
    const probe = new SipUdpClient({ localAddress: '127.0.50.182', server: drained, serverPort: 5060 });
    await probe.bind();
    try {
      const res = await probe.options();
      expect(res.status).to.equal(503);
      expect(res.headers.get('retry-after')).to.match(/^\d+/);
    } finally {
      probe.close();
    }
    // The live call keeps flowing on the draining reflector and nobody got a BYE yet.
    const ha = heard(a, b);
    await waitUntil(() => heard(a, b) > ha + 50, 5000, 'media to keep flowing while draining');
    expect(a.sip.remoteBye || b.sip.remoteBye).to.equal(false);
    expect(proc?.proc.exitCode).to.equal(null);
    // Kamailio's probe sees the 503 and takes the draining reflector out.
    await waitUntil(() => kam?.dispatcherList().find((t) => t.uri === `sip:${drained}:5060`)?.flags.startsWith('I'), 10_000, 'the drained reflector to be marked inactive');
    // Time up: the reflector's own BYEs reach both members through Kamailio (their route set), then it exits 0.
    const code = await proc?.exited();
    expect(code).to.equal(0);
    await waitUntil(() => a.sip.remoteBye && b.sip.remoteBye, 3000, 'both members to get the reflector\'s BYE');
    const ids = new Set(proc?.logs.filter((l) => l.event === 'participant_joined' && (l.label === a.sip.callId || l.label === b.sip.callId)).map((l) => l.id));
    expect(ids.size).to.equal(2);
    expect(proc?.logs.filter((l) => l.event === 'participant_left' && ids.has(l.id)).map((l) => l.reason)).to.deep.equal(['shutdown', 'shutdown']);
    expect(proc?.logs.some((l) => l.event === 'drained' && l.result === 'timeout')).to.equal(true);
    reflectors.delete(drained);
  });
});
