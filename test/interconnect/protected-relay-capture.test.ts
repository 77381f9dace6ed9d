/**
 * The protected relay on the wire, with REAL reflector processes: a pair call
 * (R1 127.0.22.1 – R2 127.0.22.2, one SIP member on each, 127.0.22.101/102)
 * captured with tshark on `lo` (capture filter: UDP between the two reflector
 * addresses). Without a secret the tone's µ-law payload is found in the relay
 * datagrams (so the search can fail); with a secret none of it is, every relay
 * datagram is version 3, and the members still hear each other. A captured
 * relay datagram sent again is dropped as `relay_replayed`, a tampered one as
 * `relay_auth_failed`, and neither reaches the member.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePcmuSample } from '../../src/mixer/g711.js';
import { MediaEndpoint, clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';

const R1 = '127.0.22.1';
const R2 = '127.0.22.2';
const M1 = '127.0.22.101';
const M2 = '127.0.22.102';
const RELAY_PORT = 5564;
const TONES = [440, 700];
const WINDOW = 12;

interface Captured { src: string; dst: string; sport: number; dport: number; payload: Buffer }

/** Reads a classic pcap file (tshark -F pcap) of Ethernet frames (Linux `lo`): IPv4/UDP only. */
function readPcap(file: string): Captured[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
  const u32 = (at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`link type ${linkType}, expected Ethernet (1)`);
  const out: Captured[] = [];
  let at = 24;
  for (let guard = 0; at + 16 <= b.length && guard < 1_000_000; guard++) {
    const incl = u32(at + 8);
    const frame = b.subarray(at + 16, at + 16 + incl);
    at += 16 + incl;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip[0] & 0x0f) * 4;
    if (ip[9] !== 17 || ip.length < ihl + 8) continue;
    const udp = ip.subarray(ihl);
    const len = udp.readUInt16BE(4);
    out.push({
      src: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`,
      dst: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
      sport: udp.readUInt16BE(0),
      dport: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, Math.min(len, udp.length))),
    });
  }
  return out;
}

/** Every WINDOW-byte run of the µ-law payload a MediaEndpoint sends for `toneHz` (its 1 s cycle). */
function toneWindows(toneHz: number): Set<string> {
  const n = 8000;
  const u = Buffer.alloc(n);
  for (let i = 0; i < n; i++) u[i] = encodePcmuSample(Math.round(12000 * Math.sin((2 * Math.PI * toneHz * i) / 8000)));
  const out = new Set<string>();
  for (let i = 0; i < n; i++) {
    const w = Buffer.alloc(WINDOW);
    for (let k = 0; k < WINDOW; k++) w[k] = u[(i + k) % n];
    out.add(w.toString('hex'));
  }
  return out;
}

function clearRuns(datagrams: readonly Captured[], windows: Set<string>): number {
  let found = 0;
  for (const d of datagrams) {
    for (let i = 0; i + WINDOW <= d.payload.length; i++) {
      if (windows.has(d.payload.toString('hex', i, i + WINDOW))) { found++; break; }
    }
  }
  return found;
}

function config(self: string, peer: string, secret: string | null): string {
  return [
    `REFLECTOR_ID cap-${self}`, `LISTEN_ADDRESS ${self}`, `PUBLIC_ADDRESS ${self}`, `STATUS_LISTEN ${self}:8080`, 'LOG_LEVEL info',
    `REFLECTOR_INTERCONNECTION ${peer} ${RELAY_PORT}${secret === null ? '' : ` ${secret}`}`, '',
  ].join('\n');
}

interface Member { sip: SipUdpClient; media: MediaEndpoint }

describe('interconnect: protected relay on the wire (tshark capture, real processes)', function () {
  this.timeout(60_000);
  let procs: ReflectorProcess[] = [];
  let members: Member[] = [];
  let tshark: ChildProcess | null = null;
  let dir = '';

  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'cycles-capture-')); });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`--- ${p.configFile}\n${p.output().slice(-4000)}\n`);
    if (tshark !== null && tshark.exitCode === null) {
      const t = tshark;
      await new Promise<void>((r) => { t.once('exit', () => r()); t.kill('SIGKILL'); });
    }
    tshark = null;
    for (const m of members) { m.sip.close(); await m.media.close(); }
    members = [];
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
    rmSync(dir, { recursive: true, force: true });
  });

  async function startCapture(file: string): Promise<void> {
    const t = spawn('tshark', ['-i', 'lo', '-f', `udp and host ${R1} and host ${R2}`, '-F', 'pcap', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    tshark = t;
    let err = '';
    t.stderr?.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tshark did not start: ${err}`)), 15_000);
      t.on('error', (e) => { clearTimeout(timer); reject(new Error(`tshark: ${e.message} (is tshark installed?)`)); });
      t.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tshark exited ${code}: ${err}`)); });
      t.stderr?.on('data', (c: string) => { err += c; if (err.includes('Capturing on')) { clearTimeout(timer); resolve(); } });
    });
  }

  async function stopCapture(): Promise<void> {
    const t = tshark;
    if (t === null || t.exitCode !== null) return;
    await new Promise<void>((r) => { t.once('exit', () => r()); t.kill('SIGINT'); });
  }

  async function call(secret: string | null): Promise<Captured[]> {
    procs = await Promise.all([startReflector({ config: config(R1, R2, secret) }), startReflector({ config: config(R2, R1, secret) })]);
    await Promise.all(procs.map((p) => p.waitForLog((r) => r.event === 'peer_up', 10_000)));
    const file = join(dir, `relay-${secret === null ? 'plain' : 'protected'}.pcap`);
    await startCapture(file);
    for (const [i, [reflector, local]] of [[R1, M1], [R2, M2]].entries()) {
      const media = new MediaEndpoint({ localAddress: local, remoteAddress: reflector, remoteRtpPort: 5566, toneHz: TONES[i], cname: local });
      const port = await media.bind();
      const sip = new SipUdpClient({ localAddress: local, server: reflector, serverPort: 5060 });
      members.push({ sip, media });
      await sip.bind();
      expect((await sip.invite('capture', clientSdp(local, port, media.ssrc, local))).status).to.equal(200);
    }
    await waitUntil(async () => {
      const s = (await (await fetch(`http://${R1}:8080/api/sessions`)).json()) as { name: string; remoteCounts: Record<string, number> }[];
      return s.some((x) => x.name === 'capture' && Object.values(x.remoteCounts).reduce((a, b) => a + b, 0) === 1);
    }, 10_000, 'pair counts', 100);
    await new Promise((r) => setTimeout(r, 300));
    for (const m of members) m.media.start();
    await new Promise((r) => setTimeout(r, 2000));
    for (const m of members) m.media.stop();
    await new Promise((r) => setTimeout(r, 500));
    await stopCapture();
    const [a, b] = members;
    expect(a.media.received.get(b.media.ssrc)?.packets, 'member 1 hears member 2').to.equal(b.media.sentPackets);
    expect(b.media.received.get(a.media.ssrc)?.packets, 'member 2 hears member 1').to.equal(a.media.sentPackets);
    return readPcap(file).filter((d) => d.dport === RELAY_PORT || d.dport === RELAY_PORT + 1);
  }

  const windows = (): Set<string> => new Set([...toneWindows(TONES[0]), ...toneWindows(TONES[1])]);
  const isRelay = (d: Captured): boolean => d.payload[0] === 0x52;

  it('control: without a secret the relay carries the tone in clear (the search finds it)', async () => {
    const relay = (await call(null)).filter(isRelay);
    expect(relay.length).to.be.greaterThan(100);
    expect(clearRuns(relay, windows())).to.be.greaterThan(100);
  });

  it('with a secret: no RTP payload byte run in clear, version 3 only; a replayed or tampered datagram is dropped and counted', async () => {
    const captured = await call('pair-secret');
    const relay = captured.filter(isRelay);
    expect(relay.length).to.be.greaterThan(100);
    expect(relay.every((d) => d.payload[1] >> 4 === 3), 'every relay datagram is protected (version 3)').to.equal(true);
    expect(clearRuns(captured, windows()), 'datagrams holding tone payload in clear').to.equal(0);
    // Nor the members' SSRCs or CNAMEs (RTP headers and RTCP are sealed too).
    for (const m of members) {
      const ssrc = Buffer.alloc(4);
      ssrc.writeUInt32BE(m.media.ssrc);
      expect(relay.some((d) => d.payload.subarray(24).includes(ssrc)), 'SSRC in clear').to.equal(false);
    }
    expect(relay.some((d) => d.payload.includes(Buffer.from(M1))), 'CNAME in clear').to.equal(false);

    // Replay one R1 → R2 RTP relay datagram, from R1's address (another port: peers are known by address).
    const sample = relay.find((d) => d.src === R1 && d.dst === R2 && d.dport === RELAY_PORT);
    expect(sample).to.not.equal(undefined);
    const heardBefore = members[1].media.received.get(members[0].media.ssrc)?.packets ?? 0;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, R1, r));
    const drops = async (): Promise<Record<string, number>> =>
      ((await (await fetch(`http://${R2}:8080/api/status`)).json()) as { drops: { interconnect: Record<string, number> } }).drops.interconnect;
    try {
      const send = (b: Buffer): Promise<void> => new Promise((r, j) => sock.send(b, RELAY_PORT, R2, (e) => (e ? j(e) : r())));
      await send(sample?.payload ?? Buffer.alloc(0));
      await waitUntil(async () => (await drops()).relay_replayed === 1, 5000, 'relay_replayed counted', 100);
      const tampered = Buffer.from(sample?.payload ?? Buffer.alloc(0));
      tampered[16 + 2] ^= 0x01; // SEQ + 2^40: never used yet, so the tag is what fails
      tampered[30] ^= 0x01;
      await send(tampered);
      await waitUntil(async () => (await drops()).relay_auth_failed === 1, 5000, 'relay_auth_failed counted', 100);
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(members[1].media.received.get(members[0].media.ssrc)?.packets ?? 0, 'nothing extra reached the member').to.equal(heardBefore);
    expect(procs[1].logs.some((r) => r.event === 'interconnect_drop' && r.reason === 'relay_replayed')).to.equal(true);
  });
});
