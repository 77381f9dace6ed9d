/**
 * The Node load generator behind tools/loadgen (SPEC §11) and the bench's
 * "participants held" measurement: many participants in many sessions, each
 * with one UDP socket on a loopback address of ours, connected to the
 * reflector's audio port (so only packets from that port count: symmetric RTP),
 * sending RTP of a fixed size at a fixed rate, and receiving what is reflected.
 *
 * Packet layout, as /work/shared/perf/participants.c but with our own clock:
 *   [0..11]   RTP header: V=2, PT=0 (PCMU), seq, timestamp = xseq*160, SSRC = SSRC_BASE + global index
 *   [12..19]  performance.now() at send, ms, float64 little-endian (one process sends and receives)
 *   [20..23]  extended sequence number, u32 little-endian
 *   [24]      phase: 0 warm-up (latching, not counted), 1 measured
 * Loss = 1 - received / (measured packets sent × (parties − 1)); latency is
 * the one-way time through the reflector including both event loops.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { JoinGroup } from './core-child.js';
import { udpDrops } from './ports.js';

export const LOADGEN_SSRC_BASE = 0x4c470000;
export const LOADGEN_MIN_SIZE = 25;
const MAX_SIZE = 1500;
const HIST_US = 1_000_000;
const RING = 4;
const DRAIN_MS = 500;
const LATCH_ROUNDS = 3;
const LATCH_ROUND_MS = 20;
const LATCH_MAX_MS = 2000;

export interface LoadgenOptions {
  /** Loopback address the participants' sockets bind to (port 0 each). */
  readonly bindAddress: string;
  readonly targetAddress: string;
  readonly targetPort: number;
  readonly sessions: number;
  readonly parties: number;
  /** Packets per second per participant. */
  readonly ratePps: number;
  readonly sizeBytes: number;
  readonly durationS: number;
  /** Paced warm-up at the full rate before measuring (default 0.5 s). */
  readonly warmupS?: number;
  readonly sessionPrefix?: string;
  /** SO_RCVBUF of each participant socket (default 1 MiB). */
  readonly rcvbufBytes?: number;
  /**
   * Called once all sockets are bound and before anything is sent: admit the participants.
   * It may return one target per participant (in the order of the groups' ports) for
   * reflectors that give each participant its own port (rtpengine, Janus); else every
   * participant sends to targetAddress:targetPort.
   */
  readonly admit?: (groups: readonly JoinGroup[]) => Promise<void | readonly LoadTarget[]>;
  /**
   * A mixer under test: what comes back is a mix (not the others' packets), so every RTP
   * packet a participant receives in the measured phase counts, and `expected` is
   * outPpsPerParticipant × measured seconds × participants. Latency is not measured (-1).
   */
  readonly mixed?: { readonly outPpsPerParticipant: number };
  /** Called when the measured phase starts and when it ends (e.g. sample the reflector's CPU). */
  readonly onMeasureStart?: () => void;
  readonly onMeasureEnd?: () => void;
  /** Called after the measured phase, before the sockets close (e.g. read the reflector's memory). */
  readonly beforeClose?: () => Promise<void>;
}

/** Where one participant sends. */
export interface LoadTarget {
  readonly address: string;
  readonly port: number;
}

export interface LoadgenResult {
  readonly sessions: number;
  readonly parties: number;
  readonly participants: number;
  readonly ratePps: number;
  readonly sizeBytes: number;
  readonly durationS: number;
  readonly sent: number;
  readonly received: number;
  readonly expected: number;
  readonly lossPct: number;
  /** Measured packets sent as a percentage of what perfect pacing would have sent. */
  readonly sendPct: number;
  readonly inPps: number;
  readonly outPps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Lowest delivery ratio over all (receiver, sender) pairs of a session. */
  readonly minPairDelivery: number;
  readonly selfEcho: number;
  /** Packets from a participant of another session (must be 0). */
  readonly misrouted: number;
  readonly bad: number;
  readonly lateWarmup: number;
  readonly socketErrors: number;
  /** Kernel drops at the reflector's socket and at ours (/proc/net/udp), to tell who lost packets. */
  readonly reflectorKernelDrops: number;
  readonly loadgenKernelDrops: number;
}

interface Participant {
  readonly index: number;
  readonly session: number;
  readonly slot: number;
  readonly socket: dgram.Socket;
  port: number;
  readonly ssrc: number;
  readonly ring: Buffer[];
  ringPos: number;
  xseq: number;
  sentAll: number;
  sentMeasured: number;
  sentAtT0: number;
}

function percentileMs(hist: Uint32Array, total: number, q: number): number {
  if (total === 0) return -1;
  let want = Math.floor(q * total);
  if (want >= total) want = total - 1;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i] as number;
    if (acc > want) return i / 1000;
  }
  return HIST_US / 1000;
}

async function bindSocket(s: dgram.Socket, address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onErr = (err: Error): void => reject(err);
    s.once('error', onErr);
    s.bind({ address, port: 0, exclusive: true }, () => {
      s.off('error', onErr);
      resolve();
    });
  });
}

async function connectSocket(s: dgram.Socket, port: number, address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onErr = (err: Error): void => reject(err);
    s.once('error', onErr);
    s.connect(port, address, () => {
      s.off('error', onErr);
      resolve();
    });
  });
}

export function validateLoadgenOptions(o: LoadgenOptions): void {
  const bad = (what: string): never => {
    throw new RangeError(`loadgen: ${what}`);
  };
  if (!Number.isInteger(o.sessions) || o.sessions < 1) bad('sessions must be an integer ≥ 1');
  if (!Number.isInteger(o.parties) || o.parties < 2) bad('parties must be an integer ≥ 2');
  if (o.sessions * o.parties > 20000) bad('at most 20000 participants');
  if (!(o.ratePps > 0 && o.ratePps <= 100000)) bad('rate must be in (0, 100000] packets/s');
  if (!Number.isInteger(o.sizeBytes) || o.sizeBytes < LOADGEN_MIN_SIZE || o.sizeBytes > MAX_SIZE) bad(`size must be ${LOADGEN_MIN_SIZE}..${MAX_SIZE}`);
  if (!(o.durationS > 0 && o.durationS <= 3600)) bad('duration must be in (0, 3600] s');
}

/** Runs one load: bind, admit, warm up, measure, drain, close. Never leaves sockets or timers behind. */
export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenResult> {
  validateLoadgenOptions(o);
  const warmupS = o.warmupS ?? 0.5;
  const n = o.sessions * o.parties;
  const parties = o.parties;
  const hist = new Uint32Array(HIST_US + 1);
  let latN = 0;
  let latMax = 0;
  let received = 0;
  let selfEcho = 0;
  let misrouted = 0;
  let bad = 0;
  let lateWarmup = 0;
  let socketErrors = 0;
  let measuring = false;
  const rxPair = new Float64Array(n * parties);
  const ps: Participant[] = [];
  const heardWarmup = new Uint8Array(n);
  let intervalTimer: NodeJS.Timeout | undefined;
  let latchTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;

  try {
    for (let i = 0; i < n; i++) {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: o.rcvbufBytes ?? 1 << 20 });
      const ring: Buffer[] = [];
      for (let k = 0; k < RING; k++) ring.push(Buffer.alloc(o.sizeBytes));
      const p: Participant = {
        index: i,
        session: Math.floor(i / parties),
        slot: i % parties,
        socket,
        port: 0,
        ssrc: (LOADGEN_SSRC_BASE + i) >>> 0,
        ring,
        ringPos: 0,
        xseq: 0,
        sentAll: 0,
        sentMeasured: 0,
        sentAtT0: 0,
      };
      ps.push(p);
      socket.on('error', () => {
        socketErrors++;
      });
    }
    await Promise.all(ps.map((p) => bindSocket(p.socket, o.bindAddress)));
    for (const p of ps) p.port = p.socket.address().port;

    const prefix = o.sessionPrefix ?? 'loadgen-';
    const groups: JoinGroup[] = [];
    for (let s = 0; s < o.sessions; s++) {
      groups.push({ session: `${prefix}${s}`, address: o.bindAddress, ports: ps.slice(s * parties, (s + 1) * parties).map((p) => p.port) });
    }
    const targets = o.admit ? await o.admit(groups) : undefined;
    if (targets && targets.length !== n) throw new Error(`loadgen: admit gave ${targets.length} targets for ${n} participants`);
    await Promise.all(
      ps.map((p) => {
        const t = targets?.[p.index];
        return connectSocket(p.socket, t ? t.port : o.targetPort, t ? t.address : o.targetAddress);
      }),
    );

    // Receive: one handler per socket, created once; nothing allocated per packet.
    const mixed = o.mixed !== undefined;
    let mixCounting = false; // a mixer keeps sending after the measured phase: count only inside it
    for (const p of ps) {
      const self = p.index;
      const session = p.session;
      const pairBase = self * parties;
      p.socket.on('message', (msg: Buffer) => {
        if (mixed) {
          // A mix: any RTP packet from the mixer's port for this participant counts.
          if (msg.length < 12 || (msg[0] as number) >> 6 !== 2) bad++;
          else if (mixCounting) received++;
          else heardWarmup[self] = 1;
          return;
        }
        if (msg.length < LOADGEN_MIN_SIZE || (msg[0] as number) >> 6 !== 2) {
          bad++;
          return;
        }
        const o2 = ((msg.readUInt32BE(8) - LOADGEN_SSRC_BASE) >>> 0);
        if (o2 >= n) {
          bad++;
          return;
        }
        if (o2 === self) {
          selfEcho++;
          return;
        }
        if (Math.floor(o2 / parties) !== session) {
          misrouted++;
          return;
        }
        if (msg[24] !== 1) {
          if (measuring) lateWarmup++;
          else heardWarmup[self] = 1;
          return;
        }
        const lat = performance.now() - msg.readDoubleLE(12);
        let us = Math.floor(lat * 1000);
        if (us < 0) us = 0;
        if (lat > latMax) latMax = lat;
        hist[us > HIST_US ? HIST_US : us]++;
        latN++;
        received++;
        rxPair[pairBase + (o2 % parties)]++;
      });
    }

    const send = (p: Participant, phase: number, now: number): void => {
      const buf = p.ring[p.ringPos] as Buffer;
      p.ringPos = (p.ringPos + 1) % RING;
      buf[0] = 0x80;
      buf[1] = 0;
      buf.writeUInt16BE(p.xseq & 0xffff, 2);
      buf.writeUInt32BE((p.xseq * 160) >>> 0, 4);
      buf.writeUInt32BE(p.ssrc, 8);
      buf.writeDoubleLE(now, 12);
      buf.writeUInt32LE(p.xseq >>> 0, 20);
      buf[24] = phase;
      p.xseq++;
      p.sentAll++;
      if (phase === 1) p.sentMeasured++;
      p.socket.send(buf, 0, o.sizeBytes);
    };

    // Latching, as participants.c does: three rounds of one warm-up packet from everyone, then wait
    // (bounded) until every participant has heard from the others, so that the reflector knows all
    // return addresses before the paced load starts.
    await new Promise<void>((resolve) => {
      let round = 0;
      const deadline = performance.now() + LATCH_MAX_MS;
      latchTimer = setInterval(() => {
        const t = performance.now();
        if (round < LATCH_ROUNDS) {
          for (const p of ps) send(p, 0, t);
          round++;
          return;
        }
        let all = true;
        for (const p of ps) if ((heardWarmup[p.index] as number) === 0) all = false;
        if (all || t >= deadline) {
          clearInterval(latchTimer);
          latchTimer = undefined;
          resolve();
        }
      }, LATCH_ROUND_MS);
    });
    for (const p of ps) p.sentAll = 0;

    // Paced sending on a short interval, participants staggered within one packet interval.
    const tickMs = Math.max(1, Math.min(10, Math.floor(n / 200)));
    const tw = performance.now();
    const t0Planned = tw + warmupS * 1000;
    let t0 = t0Planned;
    const perPartTotal = Math.floor(o.ratePps * (warmupS + o.durationS));
    let tEnd = 0;
    let target = 0;
    const maxBurst = Math.max(1, Math.ceil((o.ratePps * 50) / 1000));

    await new Promise<void>((resolve) => {
      intervalTimer = setInterval(() => {
        const t = performance.now();
        if (!measuring && t >= t0Planned) {
          measuring = true;
          t0 = t;
          for (const p of ps) p.sentAtT0 = p.sentAll;
          mixCounting = mixed;
          o.onMeasureStart?.();
        }
        const el = (t - tw) / 1000;
        for (const p of ps) {
          let due = Math.floor(el * o.ratePps + p.index / n);
          if (due > perPartTotal) due = perPartTotal;
          let burst = 0;
          while (p.sentAll < due && burst < maxBurst) {
            send(p, measuring ? 1 : 0, t);
            burst++;
          }
          if (p.sentAll < due) p.sentAll = due; // skipped: counts against send_pct, not loss
        }
        if (measuring && t - t0 >= o.durationS * 1000) {
          tEnd = t;
          mixCounting = false;
          o.onMeasureEnd?.();
          for (const p of ps) {
            let due = Math.floor(el * o.ratePps + p.index / n);
            if (due > perPartTotal) due = perPartTotal;
            target += due - p.sentAtT0;
          }
          clearInterval(intervalTimer);
          intervalTimer = undefined;
          resolve();
        }
      }, tickMs);
    });

    let sent = 0;
    for (const p of ps) sent += p.sentMeasured;
    const expected = o.mixed ? Math.round((o.mixed.outPpsPerParticipant * (tEnd - t0) * n) / 1000) : sent * (parties - 1);
    await new Promise<void>((resolve) => {
      const deadline = performance.now() + DRAIN_MS;
      drainTimer = setInterval(() => {
        if (received >= expected || performance.now() >= deadline) {
          clearInterval(drainTimer);
          drainTimer = undefined;
          resolve();
        }
      }, 5);
    });

    if (o.beforeClose) await o.beforeClose();
    const reflectorKernelDrops = targets
      ? udpDrops(targets[0]?.address ?? o.targetAddress, [...new Set(targets.map((t) => t.port))])
      : udpDrops(o.targetAddress, [o.targetPort]);
    const loadgenKernelDrops = udpDrops(o.bindAddress, ps.map((p) => p.port));

    let minPair = Infinity;
    for (const p of ps) {
      for (let j = 0; j < parties; j++) {
        if (j === p.slot) continue;
        const from = ps[p.session * parties + j] as Participant;
        if (from.sentMeasured === 0) continue;
        const r = (rxPair[p.index * parties + j] as number) / from.sentMeasured;
        if (r < minPair) minPair = r;
      }
    }
    const sendS = (tEnd - t0) / 1000;
    const lossPct = expected > 0 ? (100 * Math.max(0, expected - received)) / expected : 0;
    return {
      sessions: o.sessions,
      parties,
      participants: n,
      ratePps: o.ratePps,
      sizeBytes: o.sizeBytes,
      durationS: sendS,
      sent,
      received,
      expected,
      lossPct,
      sendPct: target > 0 ? (100 * sent) / target : 0,
      inPps: sendS > 0 ? sent / sendS : 0,
      outPps: sendS > 0 ? received / sendS : 0,
      p50Ms: percentileMs(hist, latN, 0.5),
      p99Ms: percentileMs(hist, latN, 0.99),
      maxMs: latMax,
      minPairDelivery: Number.isFinite(minPair) ? minPair : 0,
      selfEcho,
      misrouted,
      bad,
      lateWarmup,
      socketErrors,
      reflectorKernelDrops,
      loadgenKernelDrops,
    };
  } finally {
    if (intervalTimer !== undefined) clearInterval(intervalTimer);
    if (latchTimer !== undefined) clearInterval(latchTimer);
    if (drainTimer !== undefined) clearInterval(drainTimer);
    for (const p of ps) {
      p.socket.removeAllListeners('message');
      try {
        p.socket.close();
      } catch {
        // not bound or already closed
      }
    }
  }
}
