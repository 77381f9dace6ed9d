/**
 * "Participants held" and "memory per participant" (SPEC §12): a fresh core
 * child per step admits N participants (sessions of `parties`, one low-rate
 * audio stream each), the Node load generator drives them, and the child's
 * RSS and heap (after a full GC) are read at the end of the measured phase.
 * The largest N that passes (loss ≤ 0.1 %, the load generator sent ≥ 95 % of its
 * target, nothing crossed sessions, RSS ≤ budget) is held; latency is reported.
 */
import { CoreChild, type JoinTimes } from './core-client.js';
import { runLoadgen } from './loadgen-engine.js';
import { judge } from './search.js';

export interface HeldOptions {
  readonly steps: readonly number[];
  readonly parties: number;
  readonly ratePps: number;
  readonly sizeBytes: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly memBudgetBytes: number;
  readonly host: string;
  readonly port: number;
  readonly bindAddress: string;
  readonly reflectorCpu?: number;
}

export interface HeldStep {
  readonly participants: number;
  readonly sessions: number;
  readonly pass: boolean;
  readonly reason?: string;
  readonly lossPct: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly outPps: number;
  readonly reflectorKernelDrops?: number;
  readonly loadgenKernelDrops?: number;
  readonly rssBaseBytes: number;
  readonly rssBytes: number;
  readonly heapBaseBytes: number;
  readonly heapBytes: number;
  readonly rssPerParticipantBytes: number;
  readonly heapPerParticipantBytes: number;
  readonly joinUs?: JoinTimes;
  readonly joinTotalMs?: number;
}

export interface HeldResult {
  readonly held: number;
  /** True when the search stopped because the load generator could not send its rate: held is a lower bound. */
  readonly harnessLimited: boolean;
  readonly steps: readonly HeldStep[];
  readonly memBudgetBytes: number;
}

export async function measureHeld(o: HeldOptions): Promise<HeldResult> {
  const steps: HeldStep[] = [];
  let held = 0;
  for (const wanted of o.steps) {
    const sessions = Math.max(1, Math.round(wanted / o.parties));
    const n = sessions * o.parties;
    const core = await CoreChild.start({
      listen: o.host,
      audioPort: o.port,
      maxParticipants: Math.max(n * 2, 100),
      ...(o.reflectorCpu === undefined ? {} : { cpu: o.reflectorCpu }),
    });
    try {
      const base = await core.mem();
      let joinUs: JoinTimes | undefined;
      let joinTotalMs = 0;
      let after = base;
      let step: HeldStep;
      try {
        const r = await runLoadgen({
          bindAddress: o.bindAddress,
          targetAddress: o.host,
          targetPort: o.port,
          sessions,
          parties: o.parties,
          ratePps: o.ratePps,
          sizeBytes: o.sizeBytes,
          durationS: o.durationS,
          warmupS: o.warmupS,
          sessionPrefix: 'held-',
          admit: async (groups) => {
            const t0 = performance.now();
            const j = await core.join(groups);
            joinTotalMs = performance.now() - t0;
            joinUs = j.joinUs;
          },
          beforeClose: async () => {
            after = await core.mem();
          },
        });
        // Held = delivered: loss and pacing gate it; latency is reported, not gated (at a few packets/s
        // per participant, the Node load generator's own event loop dominates it on a shared machine).
        const j = judge(r.lossPct, 0, r.sendPct);
        let pass = j.pass && r.misrouted === 0;
        let reason = j.reason ?? (r.misrouted > 0 ? `${r.misrouted} packets crossed sessions` : undefined);
        if (pass && after.rssBytes > o.memBudgetBytes) {
          pass = false;
          reason = `RSS ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB over budget`;
        }
        step = {
          participants: n,
          sessions,
          pass,
          ...(reason === undefined ? {} : { reason }),
          lossPct: r.lossPct,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          outPps: r.outPps,
          reflectorKernelDrops: r.reflectorKernelDrops,
          loadgenKernelDrops: r.loadgenKernelDrops,
          rssBaseBytes: base.rssBytes,
          rssBytes: after.rssBytes,
          heapBaseBytes: base.heapUsedBytes,
          heapBytes: after.heapUsedBytes,
          rssPerParticipantBytes: (after.rssBytes - base.rssBytes) / n,
          heapPerParticipantBytes: (after.heapUsedBytes - base.heapUsedBytes) / n,
          ...(joinUs ? { joinUs } : {}),
          joinTotalMs,
        };
      } catch (err) {
        step = {
          participants: n,
          sessions,
          pass: false,
          reason: `error: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`,
          lossPct: -1,
          p50Ms: -1,
          p99Ms: -1,
          outPps: 0,
          rssBaseBytes: base.rssBytes,
          rssBytes: after.rssBytes,
          heapBaseBytes: base.heapUsedBytes,
          heapBytes: after.heapUsedBytes,
          rssPerParticipantBytes: 0,
          heapPerParticipantBytes: 0,
        };
      }
      steps.push(step);
      if (!step.pass) break;
      held = n;
    } finally {
      await core.close();
    }
  }
  const failed = steps.find((s) => !s.pass);
  const harnessLimited = failed?.reason?.startsWith('harness') ?? false;
  return { held, harnessLimited, steps, memBudgetBytes: o.memBudgetBytes };
}
