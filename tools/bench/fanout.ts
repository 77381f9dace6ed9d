/**
 * One cell of SPEC §12: for one implementation, party size and packet size,
 * the highest out packets/s sustained at ≤ 0.1 % loss and p50 ≤ 5 ms, then
 * p50/p99 at half that rate. The reflector runs pinned to one CPU, the load
 * harness to the other.
 */
import { runHarness } from './harness.js';
import { runLoadgen } from './loadgen-engine.js';
import type { PerfRefs } from './perf-refs.js';
import { pickLocalBase } from './ports.js';
import { startReflector, type Impl } from './reflectors.js';
import type { JoinTimes } from './core-client.js';
import { CostProbe, effectiveRcvbuf, type PointCost } from './proc-stats.js';
import { judge, searchSustained, type PointVerdict, type SearchPlan } from './search.js';

/** Per-participant rate below which a point means nothing (audio is 50 packets/s). */
const MIN_PARTICIPANT_PPS = 10;
/** participants.c latches for ≈ 0.27 s (3 rounds of 20 ms, then 200 ms) before its paced warm-up. */
const HARNESS_LATCH_S = 0.27;
/** Margin kept inside the measured phase when sampling the reflector's CPU around it (s). */
const WINDOW_MARGIN_S = 0.05;

/** Packets each participant sends at least per point (the point lengthens at low rates)… */
const MIN_PACKETS = 30;
/** …up to this many seconds. */
const MAX_POINT_S = 4;

export interface CellSpec {
  readonly parties: number;
  readonly sizeBytes: number;
}

export interface FanoutTiming {
  readonly plan: SearchPlan;
  /** Measured seconds per search point and warm-up before it. */
  readonly pointS: number;
  readonly warmupS: number;
  /** Measured seconds of the half-rate latency point. */
  readonly halfS: number;
  /** Extra measurements of a failing point before it counts as failed (default 0). */
  readonly retries?: number;
}

export interface PointMeasure {
  readonly lossPct: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly sendPct: number;
  readonly outPps: number;
  readonly reflectorDrops?: number;
  readonly cpu0?: number;
  readonly cpu1?: number;
  /** What the point cost the reflector: CPU per out packet, kernel drops, event-loop delay. */
  readonly cost?: PointCost;
}

export interface CellResult {
  readonly impl: Impl;
  /** Ours: MEDIA_WORKERS of the run. */
  readonly workers?: number;
  readonly parties: number;
  readonly size: number;
  /** Out packets/s measured at the best passing point (0 when none passed). */
  readonly sustainedOutPps: number;
  readonly offeredOutPps: number;
  /** True when even the search's highest rate passed. */
  readonly capped: boolean;
  readonly halfRate?: PointMeasure & {
    readonly offeredOutPps: number;
    /** Set when the first half-rate measurement failed the pass rule and was repeated once. */
    readonly retriedAfter?: { readonly p50Ms: number; readonly p99Ms: number; readonly lossPct: number };
  };
  readonly points: readonly {
    readonly offered: number;
    readonly pass: boolean;
    readonly reason?: string;
    readonly note?: string;
    readonly out: number;
    readonly lossPct: number;
    readonly p50Ms: number;
    readonly cpuUsPerOutPkt?: number;
    readonly cpuPct?: number;
    readonly rxQueueDrops?: number;
    readonly loopP50Ms?: number;
    readonly loopP99Ms?: number;
    readonly loopMaxMs?: number;
  }[];
  /** Cost at the best passing point (the sustained figure). */
  readonly bestCost?: PointCost;
  /** Effective SO_RCVBUF of the reflector's media socket (bytes, `ss`), when known. */
  readonly rcvbufBytes?: number;
  /** Ours on batched I/O: share of the received datagrams the addon fanned out itself (native-fanout.ts), over the cell. */
  readonly nativeShare?: number;
  readonly joinUs?: JoinTimes;
  readonly harness: 'participants.c' | 'node-loadgen';
  /** For ours: the UDP I/O the core used. */
  readonly io?: string;
  readonly error?: string;
}

export interface CellEnv {
  readonly refs: PerfRefs;
  /** Loopback address the reflector under test listens on. */
  readonly host: string;
  readonly port: number;
  readonly reflectorCpu?: number;
  readonly harnessCpu?: number;
  /** Where the Node harness binds when participants.c is missing. */
  readonly loadgenBind: string;
  /** REFLECTOR_IO for ours (auto, dgram, mmsg); inherited when undefined. */
  readonly io?: string;
  /** MEDIA_WORKERS for ours; inherited (REFLECTOR_MEDIA_WORKERS) when undefined. */
  readonly workers?: number;
}

export async function runCell(impl: Impl, cell: CellSpec, timing: FanoutTiming, env: CellEnv): Promise<CellResult> {
  const k = cell.parties;
  const harness = env.refs.participants !== undefined ? 'participants.c' : 'node-loadgen';
  const refl = await startReflector(impl, env.refs, env.host, env.port, env.reflectorCpu, env.io, impl === 'ours' ? env.workers : undefined);
  const io = { ...(refl.io === undefined ? {} : { io: refl.io }), ...(impl === 'ours' && env.workers !== undefined ? { workers: env.workers } : {}) };
  let joinUs: JoinTimes | undefined;
  try {
    let measure: (offered: number, durationS: number) => Promise<PointMeasure>;
    if (env.refs.participants !== undefined) {
      const binary = env.refs.participants;
      const localBase = pickLocalBase(k);
      const ports: number[] = [];
      for (let i = 0; i < k; i++) ports.push(localBase + 2 * i);
      joinUs = await refl.admit([{ session: `bench-${k}x${cell.sizeBytes}`, address: '127.0.0.1', ports }]);
      measure = async (offered, durationS) => {
        const probe = new CostProbe(refl.pid, env.host, [env.port], refl.loop);
        probe.begin();
        // The measured phase of participants.c starts after its latching and warm-up: sample
        // the reflector's CPU (and its loop delay) inside it, by the clock.
        const startS = HARNESS_LATCH_S + timing.warmupS + WINDOW_MARGIN_S;
        const lenS = Math.max(0.1, durationS - 2 * WINDOW_MARGIN_S);
        const t1 = setTimeout(() => probe.windowStart(), startS * 1000);
        const t2 = setTimeout(() => probe.windowEnd(), (startS + lenS) * 1000);
        let r: Awaited<ReturnType<typeof runHarness>>;
        try {
          r = await runHarness({
          binary,
          host: env.host,
          port: env.port,
          parties: k,
          ratePerParticipant: offered / (k * (k - 1)),
          sizeBytes: cell.sizeBytes,
          durationS,
          warmupS: timing.warmupS,
          localBase,
          ...(env.harnessCpu === undefined ? {} : { cpu: env.harnessCpu }),
          });
        } finally {
          clearTimeout(t1);
          clearTimeout(t2);
        }
        const cost = await probe.end(r.outPps);
        return {
          lossPct: r.lossPct,
          p50Ms: r.p50Us / 1000,
          p99Ms: r.p99Us / 1000,
          sendPct: r.sendPct,
          outPps: r.outPps,
          reflectorDrops: r.reflectorDrops,
          cpu0: r.cpu0,
          cpu1: r.cpu1,
          cost,
        };
      };
    } else {
      let session = 0;
      measure = async (offered, durationS) => {
        const probe = new CostProbe(refl.pid, env.host, [env.port], refl.loop);
        probe.begin();
        const r = await runLoadgen({
          onMeasureStart: () => probe.windowStart(),
          onMeasureEnd: () => probe.windowEnd(),
          bindAddress: env.loadgenBind,
          targetAddress: env.host,
          targetPort: env.port,
          sessions: 1,
          parties: k,
          ratePps: offered / (k * (k - 1)),
          sizeBytes: cell.sizeBytes,
          durationS,
          warmupS: timing.warmupS,
          sessionPrefix: `bench-${k}x${cell.sizeBytes}-${session++}-`,
          admit: async (groups) => {
            joinUs = await refl.admit(groups);
          },
        });
        const cost = await probe.end(r.outPps);
        return { lossPct: r.lossPct, p50Ms: r.p50Ms, p99Ms: r.p99Ms, sendPct: r.sendPct, outPps: r.outPps, cost };
      };
    }

    // Every participant sends at least MIN_PARTICIPANT_PPS and at least MIN_PACKETS per point.
    const pairs = k * (k - 1);
    const durationFor = (offered: number, base: number): number => Math.min(MAX_POINT_S, Math.max(base, (MIN_PACKETS * pairs) / offered));
    const plan = { ...timing.plan, minOutPps: MIN_PARTICIPANT_PPS * pairs };
    const once = async (offered: number): Promise<PointVerdict<PointMeasure>> => {
      try {
        const m = await measure(offered, durationFor(offered, timing.pointS));
        const j = judge(m.lossPct, m.p50Ms, m.sendPct);
        return j.reason === undefined ? { offeredOutPps: offered, pass: j.pass, result: m } : { offeredOutPps: offered, pass: j.pass, reason: j.reason, result: m };
      } catch (err) {
        return { offeredOutPps: offered, pass: false, reason: `error: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}` };
      }
    };
    const outcome = await searchSustained<PointMeasure>(plan, async (offered): Promise<PointVerdict<PointMeasure>> => {
      let v = await once(offered);
      // On a shared machine a burst of other work fails single points: a rate fails only when
      // every one of 1 + retries measurements fails (the JSON says which points needed a retry).
      for (let i = 0; i < (timing.retries ?? 0) && !v.pass && !(v.reason ?? '').startsWith('error'); i++) {
        const first = v.reason ?? 'failed';
        v = await once(offered);
        if (v.pass) v = { ...v, note: `passed on retry ${i + 1} (before: ${first})` };
      }
      return v;
    });
    const points = outcome.points.map((p) => ({
      offered: p.offeredOutPps,
      pass: p.pass,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      ...(p.note === undefined ? {} : { note: p.note }),
      out: Math.round(p.result?.outPps ?? 0),
      lossPct: p.result?.lossPct ?? -1,
      p50Ms: p.result?.p50Ms ?? -1,
      ...costFields(p.result?.cost),
    }));
    const rcvbuf = effectiveRcvbuf(env.host, env.port);
    const rb = rcvbuf === undefined ? {} : { rcvbufBytes: rcvbuf };
    const best = outcome.best;
    if (best === undefined || best.result === undefined) {
      return { impl, parties: k, size: cell.sizeBytes, sustainedOutPps: 0, offeredOutPps: 0, capped: false, points, harness, ...io, ...rb, ...(joinUs ? { joinUs } : {}) };
    }
    const halfOffered = Math.round(best.offeredOutPps / 2);
    let halfRate: CellResult['halfRate'];
    try {
      halfRate = { offeredOutPps: halfOffered, ...(await measure(halfOffered, durationFor(halfOffered, timing.halfS))) };
      if (!judge(halfRate.lossPct, halfRate.p50Ms, halfRate.sendPct).pass) {
        // Half the sustained rate failing is a noise burst on a shared machine: measure once more, and say so.
        const first = halfRate;
        const again = await measure(halfOffered, durationFor(halfOffered, timing.halfS));
        halfRate = { offeredOutPps: halfOffered, ...again, retriedAfter: { p50Ms: first.p50Ms, p99Ms: first.p99Ms, lossPct: first.lossPct } };
      }
    } catch {
      halfRate = undefined;
    }
    const fo = refl.fanout === undefined ? undefined : await refl.fanout().catch(() => undefined);
    return {
      ...(fo === undefined || fo.received === 0 ? {} : { nativeShare: fo.native / fo.received }),
      impl,
      parties: k,
      size: cell.sizeBytes,
      sustainedOutPps: Math.round(best.result.outPps),
      offeredOutPps: best.offeredOutPps,
      capped: outcome.capped,
      ...(halfRate ? { halfRate } : {}),
      points,
      harness,
      ...io,
      ...rb,
      ...(best.result.cost ? { bestCost: best.result.cost } : {}),
      ...(joinUs ? { joinUs } : {}),
    };
  } finally {
    await refl.close();
  }
}

/** The cost of a point flattened for its JSON entry (µs and ms rounded to 0.001). */
export function costFields(c: PointCost | undefined): {
  cpuUsPerOutPkt?: number;
  cpuPct?: number;
  rxQueueDrops?: number;
  loopP50Ms?: number;
  loopP99Ms?: number;
  loopMaxMs?: number;
} {
  if (c === undefined) return {};
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    ...(c.cpuUsPerOutPkt === undefined ? {} : { cpuUsPerOutPkt: r(c.cpuUsPerOutPkt) }),
    ...(c.cpuPct === undefined ? {} : { cpuPct: r(c.cpuPct) }),
    ...(c.rxQueueDrops === undefined ? {} : { rxQueueDrops: c.rxQueueDrops }),
    ...(c.loopDelay === undefined ? {} : { loopP50Ms: r(c.loopDelay.p50Ms), loopP99Ms: r(c.loopDelay.p99Ms), loopMaxMs: r(c.loopDelay.maxMs) }),
  };
}
