/**
 * The plain reflect fan-out of native-fanout.ts: the addon's table (batched sockets) and the
 * JS table (node:dgram sockets) give identical output on one recorded packet sequence — the
 * same datagrams, in the same order, with the same bytes, at every recipient; the same
 * datagrams left to the core; the same counters and RTP trace — over real UDP sockets on
 * loopback. A small stand-in for the core handles what the table leaves to it (latching on a
 * participant's first datagram, forwarding, dropping the rest), as the core does for a plain
 * session.
 */
import { expect } from 'chai';
import type { RemoteInfo } from 'node:dgram';
import { describe, it } from 'mocha';
import { parseRtpHeader, RtpHeader } from '../../src/rtp/rtp-header.js';
import { BatchGroup, BatchedUdpSocket, loadMmsgAddon } from '../../src/reflector/batched-udp.js';
import { NativeFanout, type FanoutCounts } from '../../src/reflector/native-fanout.js';
import { bindDgramCoreSocket, type CoreUdpSocket } from '../../src/reflector/udp-socket.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { effectiveMediaWorkers } from '../../src/config/defaults.js';
import { waitUntil } from '../helpers/wait.js';
import { codec, coreConfig, rtcpRr, TestClient } from './fixture.js';
import { bindUdp, closeAll, type TestUdp } from '../helpers/udp.js';

const REFLECTOR_IP = '127.0.14.1';
const FLOW = 0;

interface Member {
  readonly name: string;
  readonly session: string;
  readonly ssrc: number;
  readonly trace: boolean;
}

/** Two sessions and a stranger; the recording below is written against these. */
const MEMBERS: readonly Member[] = [
  { name: 'a0', session: 'A', ssrc: 0xa0000001, trace: true },
  { name: 'a1', session: 'A', ssrc: 0xa1000001, trace: false },
  { name: 'a2', session: 'A', ssrc: 0xa2000001, trace: true },
  { name: 'a3', session: 'A', ssrc: 0xa3000001, trace: false },
  { name: 'b0', session: 'B', ssrc: 0xb0000001, trace: false },
  { name: 'b1', session: 'B', ssrc: 0xb1000001, trace: true },
  { name: 'b2', session: 'B', ssrc: 0xb2000001, trace: false },
];
const STRANGER = MEMBERS.length;

type Step =
  | { kind: 'send'; from: number; packet: Buffer }
  | { kind: 'leave'; member: number }
  | { kind: 'flag'; session: string; ok: boolean };

function rtp(ssrc: number, seq: number, payloadLength: number, opts: { pt?: number; csrcs?: number; extensionWords?: number; marker?: boolean } = {}): Buffer {
  const cc = opts.csrcs ?? 0;
  const ext = opts.extensionWords;
  const header = 12 + 4 * cc + (ext === undefined ? 0 : 4 + 4 * ext);
  const b = Buffer.alloc(header + payloadLength);
  b[0] = 0x80 | cc | (ext === undefined ? 0 : 0x10);
  b[1] = (opts.marker === true ? 0x80 : 0) | (opts.pt ?? 0);
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < cc; i++) b.writeUInt32BE(0x11110000 + i, 12 + 4 * i);
  if (ext !== undefined) {
    b.writeUInt16BE(0xbede, 12 + 4 * cc);
    b.writeUInt16BE(ext, 14 + 4 * cc);
  }
  for (let i = header; i < b.length; i++) b[i] = (seq * 31 + i) & 0xff;
  return b;
}

/**
 * The recorded sequence: rounds of every member sending, with RTCP multiplexed on the RTP
 * port, a malformed datagram, an SSRC change, a stranger, CSRCs and an extension, a leave,
 * and the sessions' flags changing between phases.
 */
function recording(): Step[][] {
  const seq = MEMBERS.map(() => 1000);
  const ssrc = MEMBERS.map((m) => m.ssrc);
  const phases: Step[][] = [];
  const round = (steps: Step[], r: number): void => {
    MEMBERS.forEach((_, i) => {
      steps.push({ kind: 'send', from: i, packet: rtp(ssrc[i], seq[i]++, 20 + ((r * 7 + i * 13) % 160), { marker: r % 9 === 0 }) });
    });
  };
  const p1: Step[] = [];
  for (let r = 0; r < 40; r++) {
    round(p1, r);
    if (r === 5) {
      const rr = Buffer.alloc(8);
      rr[0] = 0x80;
      rr[1] = 201; // RTCP RR, multiplexed on the RTP port
      rr.writeUInt16BE(1, 2);
      rr.writeUInt32BE(ssrc[1], 4);
      p1.push({ kind: 'send', from: 1, packet: rr });
    }
    if (r === 8) {
      const bad = rtp(ssrc[2], seq[2]++, 10);
      bad[0] |= 0x20; // padding bit
      bad[bad.length - 1] = 200; // more padding than payload: parseRtpHeader refuses it
      p1.push({ kind: 'send', from: 2, packet: bad });
    }
    if (r === 12) ssrc[3] = 0xa3000002; // a3 changes SSRC
    if (r === 14) p1.push({ kind: 'send', from: STRANGER, packet: rtp(0x5757, 1, 40) });
    if (r === 16) p1.push({ kind: 'send', from: 0, packet: rtp(ssrc[0], seq[0]++, 60, { csrcs: 2, extensionWords: 3, pt: 8 }) });
  }
  phases.push(p1);
  const p2: Step[] = [{ kind: 'leave', member: 2 }, { kind: 'flag', session: 'B', ok: true }];
  for (let r = 0; r < 30; r++) round(p2, 40 + r);
  phases.push(p2);
  const p3: Step[] = [{ kind: 'flag', session: 'A', ok: false }];
  for (let r = 0; r < 10; r++) round(p3, 70 + r);
  phases.push(p3);
  return phases;
}

interface RunResult {
  /** Per member (and the stranger), the hex of every datagram received, in order. */
  received: string[][];
  /** Datagrams the table left to the core: "member:hex". */
  toCore: string[];
  /** Per member: "in packets/bytes, out packets/bytes" from the table's counters. */
  counters: string[];
  /** Per member: the sequence numbers its RTP statistics saw (trace + the core's own), in order. */
  seen: number[][];
  /** Datagrams the table fanned out itself. */
  byTable: number;
  /** Native run: datagrams per recvmmsg call (> 1: runs for JS and the addon interleaved within batches). */
  perBatch: number;
}

async function run(kind: 'native' | 'js', phases: Step[][]): Promise<RunResult> {
  const addon = loadMmsgAddon().addon;
  const clients: TestUdp[] = [];
  for (let i = 0; i <= STRANGER; i++) clients.push(await bindUdp(`127.0.14.${10 + i}`));
  const names = new Map<string, number>(clients.map((c, i) => [`${c.address}|${c.port}`, i]));
  const who = (rinfo: RemoteInfo): number => names.get(`${rinfo.address}|${rinfo.port}`) ?? -1;

  const counts = MEMBERS.map(() => ({ inPackets: 0, inBytes: 0, outPackets: 0, outBytes: 0 }));
  const seen: number[][] = MEMBERS.map(() => []);
  const toCore: string[] = [];
  let offered = 0;
  const header = new RtpHeader();
  const left = new Set<number>();
  const latched = new Set<number>();
  const sessionOf = (i: number): readonly number[] => MEMBERS.map((_, j) => j).filter((j) => MEMBERS[j].session === MEMBERS[i].session && !left.has(j));

  let fan: NativeFanout<number> | null = null;
  let sock: CoreUdpSocket | null = null;
  // The stand-in for the core: what the table does not fan out.
  const onDatagram = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (fan === null || sock === null) return;
    if (fan.offer(FLOW, msg, rinfo)) {
      offered++;
      return;
    }
    const from = who(rinfo);
    toCore.push(`${from}:${msg.toString('hex')}`);
    if (from < 0 || from === STRANGER || left.has(from)) return; // unknown source: dropped
    const mux = msg.length >= 2 && msg[1] >= 192 && msg[1] <= 223;
    if (!mux) {
      if (parseRtpHeader(msg, header) !== null) return; // malformed: dropped
      if (MEMBERS[from].trace) seen[from].push(header.sequenceNumber);
      if (!latched.has(from)) {
        latched.add(from);
        fan.latchSource(FLOW, rinfo.address, rinfo.port, MEMBERS[from].session, from, MEMBERS[from].trace);
      }
    }
    for (const j of sessionOf(from)) if (j !== from) sock.sender.send(msg, clients[j].port, clients[j].address);
  };
  const group = new BatchGroup();
  if (kind === 'native') {
    expect(addon, 'the addon is built').to.not.equal(null);
    if (addon === null) throw new Error('no addon');
    sock = BatchedUdpSocket.open(addon, REFLECTOR_IP, 0, onDatagram, group, { sendErrors: 0 });
  } else {
    sock = await bindDgramCoreSocket(REFLECTOR_IP, 0, onDatagram, () => undefined, { sendErrors: 0 });
  }
  const reflectorPort = kind === 'native' ? addon?.localPort((sock as BatchedUdpSocket).id) ?? 0 : await portOf(sock);
  fan = new NativeFanout<number>([sock], {
    counters(ep: number, _flow: number, c: Readonly<FanoutCounts>): void {
      counts[ep].inPackets += c.inPackets;
      counts[ep].inBytes += c.inBytes;
      counts[ep].outPackets += c.outPackets;
      counts[ep].outBytes += c.outBytes;
    },
    trace(ep: number, _flow: number, sequenceNumber: number): void {
      seen[ep].push(sequenceNumber);
    },
  }, group);
  expect(fan.native).to.equal(kind === 'native');
  for (const session of ['A', 'B']) {
    const members = MEMBERS.map((_, j) => j).filter((j) => MEMBERS[j].session === session);
    fan.setRecipients(FLOW, session, members.map((j) => ({ endpoint: j, address: clients[j].address, port: clients[j].port })));
  }
  fan.setSessionFlag('A', true);

  try {
    const port = reflectorPort;
    let handled = 0;
    let sent = 0;
    for (const steps of phases) {
      for (const step of steps) {
        if (step.kind === 'leave') {
          left.add(step.member);
          latched.delete(step.member);
          fan.forget(step.member);
        } else if (step.kind === 'flag') {
          fan.setSessionFlag(step.session, step.ok);
        }
      }
      // One burst per phase: many datagrams per recvmmsg batch, native and not interleaved.
      const sends: Promise<void>[] = [];
      for (const step of steps) {
        if (step.kind !== 'send') continue;
        const c = clients[step.from];
        sent++;
        sends.push(new Promise<void>((resolve) => c.socket.send(step.packet, port, REFLECTOR_IP, () => resolve())));
      }
      await Promise.all(sends);
      const tableCount = (): number => (kind === 'native' && addon !== null ? addon.fanStats((sock as BatchedUdpSocket).id)[0] ?? 0 : offered);
      await waitUntil(() => tableCount() + toCore.length === sent, 5000, `the reflector to take all ${sent} datagrams`);
      handled = tableCount();
      fan.readCounters();
      // Every copy left on loopback: wait until the recipients' counts stop growing.
      await untilStable(() => clients.reduce((a, c) => a + c.all.length, 0));
    }
    const st = kind === 'native' ? (sock as BatchedUdpSocket).stats() : [1, 1];
    return {
      perBatch: (st[1] ?? 0) / Math.max(1, st[0] ?? 0),
      received: clients.map((c) => c.all.map((r) => r.msg.toString('hex'))),
      toCore,
      counters: counts.map((c) => `${c.inPackets}/${c.inBytes} ${c.outPackets}/${c.outBytes}`),
      seen,
      byTable: handled,
    };
  } finally {
    await sock.close();
    await closeAll(clients);
  }
}

/**
 * Waits until `count()` (datagrams received on loopback) stops growing: the same value three
 * times, 100 ms apart — so that at least one event-loop poll phase ran between two equal readings
 * even when the process was descheduled (a timer due after a stall runs before the poll).
 */
async function untilStable(count: () => number): Promise<void> {
  let last = -1;
  let same = 0;
  await waitUntil(() => {
    const n = count();
    same = n === last ? same + 1 : 0;
    last = n;
    return same >= 2;
  }, 10_000, 'the copies to arrive', 100);
}

/** The bound port of a dgram core socket (it does not expose it): the source port of a datagram it sends. */
async function portOf(sock: CoreUdpSocket): Promise<number> {
  const probe = await bindUdp('127.0.14.99');
  try {
    sock.sender.send(Buffer.from('probe'), probe.port, probe.address);
    const r = await waitUntil(() => probe.all[0], 2000, 'the probe');
    return r.rinfo.port;
  } finally {
    await closeAll([probe]);
  }
}

/** Hex datagrams grouped by the SSRC at byte `at` (RTP 8, RTCP 4), each group in arrival order. */
function bySsrc(hex: readonly string[], at: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const h of hex) (out[h.slice(2 * at, 2 * at + 8)] ??= []).push(h);
  return out;
}

describe('native fan-out: the addon table and the JS table give identical output', () => {
  it('replays one recorded sequence through both: same datagrams, order and bytes per recipient; same counters and trace', async function () {
    this.timeout(30_000);
    const phases = recording();
    const js = await run('js', phases);
    const native = await run('native', phases);

    const sent = phases.flat().filter((s) => s.kind === 'send').length;
    // Not vacuous: both tables fanned out most datagrams themselves, and left some to the core.
    expect(native.byTable, 'datagrams fanned out by the addon').to.be.greaterThan(sent / 2);
    expect(js.byTable, 'datagrams fanned out by the JS table').to.equal(native.byTable);
    expect(native.toCore.length).to.be.greaterThan(10);
    expect(native.perBatch, 'datagrams per recvmmsg batch').to.be.greaterThan(2);

    for (let i = 0; i < native.received.length; i++) {
      expect(native.received[i].length, `datagrams received by ${MEMBERS[i]?.name ?? 'the stranger'}`).to.equal(js.received[i].length);
      expect(native.received[i], `datagrams received by ${MEMBERS[i]?.name ?? 'the stranger'}`).to.deep.equal(js.received[i]);
    }
    expect(native.toCore).to.deep.equal(js.toCore);
    expect(native.counters).to.deep.equal(js.counters);
    expect(native.seen).to.deep.equal(js.seen);

    // And what that output is: every member of a session gets every valid datagram of the
    // others while both are in it (checked on the JS run; the native run is equal to it).
    const a1 = js.received[1].map((h) => Buffer.from(h, 'hex'));
    const fromA0 = a1.filter((b) => b.length >= 12 && b.readUInt32BE(8) === MEMBERS[0].ssrc);
    expect(fromA0.length, 'a1 received from a0: 40 + 30 + 10 rounds and one with CSRCs').to.equal(81);
    expect(js.received[STRANGER]).to.deep.equal([]);
    // The trace of a0 (traced) is its whole sequence, in order, whoever handled each datagram.
    expect(js.seen[0]).to.deep.equal(Array.from({ length: 81 }, (_, k) => 1000 + k));
  });
});

/**
 * The same through the core: one recorded sequence (a plain session, a session with PT
 * rewrite, RTCP, a stranger, a new SSRC, a leave) through a core on batched sockets (the
 * addon's table) and one on node:dgram (the JS table) gives the same datagrams at every
 * client and the same per-stream counters.
 */
describe('native fan-out through the core: REFLECTOR_IO=mmsg and =dgram give identical output', () => {
  const CORE_IP = '127.0.14.100';
  const AUDIO = 7010;

  interface CoreRun {
    rtp: string[][];
    rtcp: string[][];
    counters: string[];
    /** Datagrams the addon fanned out (mmsg run). */
    native: number;
  }

  async function coreRun(io: 'mmsg' | 'dgram'): Promise<CoreRun> {
    const saved = process.env.REFLECTOR_IO;
    process.env.REFLECTOR_IO = io;
    const core = createReflectorCore({ config: coreConfig(CORE_IP, { audioPort: AUDIO, videoPort: AUDIO + 2 }), logger: silentLogger() });
    if (saved === undefined) delete process.env.REFLECTOR_IO;
    else process.env.REFLECTOR_IO = saved;
    const clients: TestClient[] = [];
    try {
      await core.start();
      expect(core.ioMode()).to.equal(io);
      for (let i = 0; i < 7; i++) clients.push(await TestClient.create(`127.0.14.${110 + i}`));
      // 0–3: plain session; 4–5: PT rewrite (opus 96 ↔ 111/100); 6: a stranger.
      for (let i = 0; i < 4; i++) clients[i].join(core, 'plain');
      clients[4].join(core, 'rewrite', [clients[4].stream({ codecs: [codec('opus', 96, 111, 48000)] })]);
      clients[5].join(core, 'rewrite', [clients[5].stream({ codecs: [codec('opus', 96, 100, 48000)] })]);
      const pt = [0, 0, 0, 0, 111, 100, 0];
      const ssrc = clients.map((_, i) => 0x7000 + i);
      let seq = 500;
      let sent = 0;
      const burst = async (rounds: number, who: readonly number[]): Promise<void> => {
        const sends: Promise<void>[] = [];
        for (let r = 0; r < rounds; r++) {
          for (const i of who) {
            const b = rtp(ssrc[i], seq++, 30 + ((r * 11 + i) % 90), { pt: pt[i] });
            sent++;
            sends.push(new Promise<void>((resolve) => clients[i].rtp.socket.send(b, AUDIO, CORE_IP, () => resolve())));
          }
          if (r === 3) {
            sent++;
            sends.push(new Promise<void>((resolve) => clients[1].rtcp.socket.send(rtcpRr(ssrc[1]), AUDIO + 1, CORE_IP, () => resolve())));
          }
        }
        await Promise.all(sends);
        await untilStable(() => clients.reduce((a, c) => a + c.rtp.all.length + c.rtcp.all.length, 0));
      };
      await burst(1, [0, 1, 2, 3, 4, 5]); // latching
      await burst(25, [0, 1, 2, 3, 4, 5, 6]);
      ssrc[2] = 0x7777;
      await burst(10, [0, 1, 2, 3, 4, 5]);
      core.leave(clients[3].id, 'bye');
      await burst(10, [0, 1, 2, 3, 4, 5]);
      const snap = core.snapshot();
      const counters = clients.slice(0, 6).map((c) => {
        const p = snap.flatMap((x) => x.participants).find((x) => x.id === c.id);
        return p === undefined ? 'left' : JSON.stringify(p.streams[0]?.counters);
      });
      let native = 0;
      const addon = loadMmsgAddon().addon;
      if (io === 'mmsg' && addon !== null) {
        // The core's sockets are its own; the addon numbers sockets in order, so they are the
        // few opened just before a probe socket opened now.
        const probe = BatchedUdpSocket.open(addon, CORE_IP, 0, () => undefined, new BatchGroup(), { sendErrors: 0 });
        for (let id = Math.max(1, probe.id - 16); id < probe.id; id++) native += addon.fanStats(id)[0] ?? 0;
        await probe.close();
      }
      return {
        rtp: clients.map((c) => c.rtp.all.map((r) => r.msg.toString('hex'))),
        rtcp: clients.map((c) => c.rtcp.all.map((r) => r.msg.toString('hex'))),
        counters,
        native,
      };
    } finally {
      await core.close();
      await Promise.all(clients.map((c) => c.close()));
    }
  }

  it('same datagrams, order and bytes at every client; same counters', async function () {
    this.timeout(30_000);
    expect(loadMmsgAddon().addon, 'the addon is built').to.not.equal(null);
    const js = await coreRun('dgram');
    const native = await coreRun('mmsg');
    // With MEDIA_WORKERS > 1 the sources are spread over the threads: each source's datagrams keep
    // their order, but how two sources interleave at a recipient is the threads' (as on a real
    // network); and in a worker's batch, a source's datagrams after one handed to JS go to JS too.
    const workers = effectiveMediaWorkers('auto');
    expect(native.native, 'datagrams the addon fanned out').to.be.greaterThan(workers === 1 ? 100 : 40);
    const view = (list: string[], ssrcAt: number): string[] | Record<string, string[]> => (workers === 1 ? list : bySsrc(list, ssrcAt));
    for (let i = 0; i < js.rtp.length; i++) {
      expect(view(native.rtp[i], 8), `RTP at client ${i}`).to.deep.equal(view(js.rtp[i], 8));
      expect(view(native.rtcp[i], 4), `RTCP at client ${i}`).to.deep.equal(view(js.rtcp[i], 4));
    }
    expect(native.counters).to.deep.equal(js.counters);
    // What that output is: client 0 got everything the other plain members sent while in the session.
    expect(js.rtp[0].length).to.equal(3 * 46 - 10);
    expect(js.rtp[6]).to.deep.equal([]);
  });
});
