/**
 * The search for the highest sustained rate (SPEC §12): a point passes when
 * loss ≤ 0.1 % and p50 ≤ 5 ms (and the harness really sent what it was asked
 * to). Double from a start rate until a point fails, then bisect between the
 * last pass and the first fail; a bounded number of points in all.
 */

export interface SearchPlan {
  readonly startOutPps: number;
  /** Highest rate ever tried. */
  readonly maxOutPps: number;
  /** Lowest rate worth trying (below it the search gives up: nothing sustained). */
  readonly minOutPps?: number;
  /** Doublings (or halvings when the start already fails). */
  readonly maxGrowSteps: number;
  readonly bisectSteps: number;
}

export interface PointVerdict<R> {
  readonly offeredOutPps: number;
  readonly pass: boolean;
  /** Why it failed: loss, latency, harness (could not send the rate), error. */
  readonly reason?: string;
  /** E.g. that the point passed only when measured a second time. */
  readonly note?: string;
  readonly result?: R;
}

export interface SearchOutcome<R> {
  /** The best passing point, or undefined when none passed. */
  readonly best?: PointVerdict<R>;
  readonly points: readonly PointVerdict<R>[];
  /** True when the search stopped at maxOutPps still passing (the real limit is higher). */
  readonly capped: boolean;
}

export const MAX_LOSS_PCT = 0.1;
export const MAX_P50_MS = 5;
export const MIN_SEND_PCT = 95;

/** The pass rule of /work/shared/perf/README.md, plus "the harness sent ≥ 95 % of its target". */
export function judge(lossPct: number, p50Ms: number, sendPct: number): { pass: boolean; reason?: string } {
  if (sendPct < MIN_SEND_PCT) return { pass: false, reason: `harness sent ${sendPct.toFixed(1)} % of target` };
  if (lossPct > MAX_LOSS_PCT) return { pass: false, reason: `loss ${lossPct.toFixed(3)} %` };
  if (p50Ms > MAX_P50_MS) return { pass: false, reason: `p50 ${p50Ms.toFixed(2)} ms` };
  return { pass: true };
}

export async function searchSustained<R>(
  plan: SearchPlan,
  measure: (offeredOutPps: number) => Promise<PointVerdict<R>>,
): Promise<SearchOutcome<R>> {
  const points: PointVerdict<R>[] = [];
  let best: PointVerdict<R> | undefined;
  let lo = 0; // highest passing offered rate
  let hi = 0; // lowest failing offered rate (0 = none yet)
  const minRate = Math.max(1, plan.minOutPps ?? 1);
  let rate = Math.max(minRate, Math.min(plan.startOutPps, plan.maxOutPps));
  let capped = false;

  const consider = (v: PointVerdict<R>): void => {
    points.push(v);
    if (v.pass) {
      if (v.offeredOutPps > lo) {
        lo = v.offeredOutPps;
        best = v;
      }
    } else if (hi === 0 || v.offeredOutPps < hi) {
      hi = v.offeredOutPps;
    }
  };

  // Grow (or shrink) until we have a pass below a fail.
  for (let step = 0; step <= plan.maxGrowSteps; step++) {
    const v = await measure(rate);
    consider(v);
    if (v.pass) {
      if (hi !== 0) break;
      if (rate >= plan.maxOutPps) {
        capped = true;
        break;
      }
      rate = Math.min(plan.maxOutPps, rate * 2);
    } else {
      if (lo !== 0) break;
      if (rate <= minRate) break;
      rate = Math.max(minRate, Math.floor(rate / 2));
    }
  }
  if (hi === 0 && lo > 0) capped = true; // never saw a failure: the real limit is higher
  // Bisect.
  for (let step = 0; step < plan.bisectSteps && lo > 0 && hi > lo; step++) {
    const mid = Math.round((lo + hi) / 2);
    if (hi - lo < Math.max(50, lo * 0.03)) break;
    consider(await measure(mid));
  }
  return best === undefined ? { points, capped } : { best, points, capped };
}
