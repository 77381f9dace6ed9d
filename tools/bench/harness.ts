/**
 * One measurement point with the C load harness (`participants HOST PORT K R S D [W]`,
 * /work/shared/perf/participants.c): K participants bound to 127.0.0.1:LOCAL_BASE+2i,
 * each sending R packets/s of S bytes for D measured seconds after W seconds of warm-up.
 */
import { LineProcess } from './proc.js';

export interface PointResult {
  readonly parties: number;
  readonly ratePerParticipant: number;
  readonly sizeBytes: number;
  readonly sent: number;
  readonly received: number;
  readonly expected: number;
  readonly lossPct: number;
  /** Percentage of the paced target the harness actually sent. */
  readonly sendPct: number;
  readonly outPps: number;
  readonly inPps: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly reflectorDrops: number;
  readonly harnessDrops: number;
  /** Busy % of the two CPUs during the measured phase (steal included in "other work"). */
  readonly cpu0: number;
  readonly cpu1: number;
  readonly harnessCpu: number;
}

export interface HarnessRun {
  readonly binary: string;
  readonly host: string;
  readonly port: number;
  readonly parties: number;
  readonly ratePerParticipant: number;
  readonly sizeBytes: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly localBase: number;
  readonly cpu?: number;
}

/** Parses the harness's `RESULT k=v …` line; undefined when absent or incomplete. */
export function parseResultLine(line: string): PointResult | undefined {
  if (!line.startsWith('RESULT ')) return undefined;
  const kv = new Map<string, number>();
  for (const tok of line.slice(7).trim().split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (eq <= 0) continue;
    const v = Number(tok.slice(eq + 1));
    if (Number.isFinite(v)) kv.set(tok.slice(0, eq), v);
  }
  const need = ['K', 'R', 'S', 'sent', 'received', 'expected', 'loss_pct', 'send_pct', 'out_pps', 'in_pps', 'p50_us', 'p99_us'];
  if (!need.every((k) => kv.has(k))) return undefined;
  const g = (k: string): number => kv.get(k) ?? 0;
  return {
    parties: g('K'),
    ratePerParticipant: g('R'),
    sizeBytes: g('S'),
    sent: g('sent'),
    received: g('received'),
    expected: g('expected'),
    lossPct: g('loss_pct'),
    sendPct: g('send_pct'),
    outPps: g('out_pps'),
    inPps: g('in_pps'),
    p50Us: g('p50_us'),
    p99Us: g('p99_us'),
    maxUs: g('max_us'),
    reflectorDrops: g('refl_drops'),
    harnessDrops: g('harness_drops'),
    cpu0: g('cpu0'),
    cpu1: g('cpu1'),
    harnessCpu: g('harness_cpu'),
  };
}

/** Runs the harness once and returns its result (rejects if it fails or prints no RESULT). */
export async function runHarness(run: HarnessRun): Promise<PointResult> {
  const args = [
    run.host,
    String(run.port),
    String(run.parties),
    String(run.ratePerParticipant),
    String(run.sizeBytes),
    String(run.durationS),
    String(run.warmupS),
  ];
  const env = { ...process.env, LOCAL_BASE: String(run.localBase) };
  const proc = new LineProcess(run.binary, args, run.cpu === undefined ? { env } : { env, cpu: run.cpu });
  // warm-up latch (~0.3 s) + W + D + drain (0.5 s) + slack
  const budgetMs = Math.ceil((run.warmupS + run.durationS) * 1000) + 15000;
  try {
    const { line } = await proc.waitForLine((l) => l.startsWith('RESULT '), budgetMs);
    const r = parseResultLine(line);
    if (r === undefined) throw new Error(`participants: unparsable result line: ${line}`);
    await proc.waitForExit(2000);
    return r;
  } finally {
    await proc.stop('SIGKILL');
  }
}
