/**
 * Time to join through SIP (SPEC §12): the whole reflector (`dist/src/main.js`)
 * on a loopback address of ours, and SIPp's built-in UAC scenario as the
 * client (INVITE with an SDP offer for PCMU → 200 OK with the answer → ACK,
 * hold, BYE). The time measured is INVITE sent → 200 OK received, per call,
 * from the µs timestamps of SIPp's `-trace_msg` log. SIPp is a real third-party client (Debian
 * sip-tester); there is no SIP client of our own under tools/lib yet.
 * The calls come from several client addresses (one SIPp each, sharing the rate): the reflector
 * admits at most 64 server transactions per unauthenticated source at once (docs/protocol.md,
 * "Admission"), and a finished transaction keeps its slot while it absorbs retransmissions (32 s), so
 * one address can place only about one call per second.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { LineProcess } from './proc.js';

export interface SipJoinOptions {
  readonly host: string;
  /** One SIPp per address; the calls and the rate are shared out. */
  readonly clientHosts: readonly string[];
  readonly sipPort: number;
  readonly calls: number;
  readonly callsPerSecond: number;
  /** How long each call stays up before BYE (ms). */
  readonly holdMs: number;
  readonly reflectorCpu?: number;
  readonly clientCpu?: number;
}

export interface SipJoinResult {
  readonly calls: number;
  readonly successful: number;
  readonly failed: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

/** True when `sipp` runs here. */
export function hasSipp(): boolean {
  const r = spawnSync('sipp', ['-v'], { stdio: 'ignore' });
  return r.error === undefined;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return -1;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/**
 * From SIPp's `-trace_msg` log (blocks headed by a dashed line with a µs timestamp): per Call-ID,
 * the first INVITE sent → the first 200 OK received whose CSeq is INVITE, in ms.
 */
export function inviteToOkMs(log: string): number[] {
  const sentAt = new Map<string, number>();
  const out: number[] = [];
  const done = new Set<string>();
  const blocks = log.split(/^-{20,}\s+/m);
  for (const b of blocks) {
    const head = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2}\.\d+)/.exec(b);
    if (!head) continue;
    const t = (Number(head[2]) * 3600 + Number(head[3]) * 60 + Number(head[4])) * 1000;
    const callId = /^Call-ID:\s*(\S+)/im.exec(b)?.[1];
    if (callId === undefined) continue;
    const sent = /UDP message sent/.test(b);
    if (sent && /^INVITE /m.test(b)) {
      if (!sentAt.has(callId)) sentAt.set(callId, t);
    } else if (!sent && /^SIP\/2\.0 200 /m.test(b) && /^CSeq:\s*\d+\s+INVITE/im.test(b)) {
      const t0 = sentAt.get(callId);
      if (t0 !== undefined && !done.has(callId)) {
        done.add(callId);
        out.push(t >= t0 ? t - t0 : t + 86_400_000 - t0);
      }
    }
  }
  return out;
}

export async function measureSipJoin(o: SipJoinOptions): Promise<SipJoinResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-sip-'));
  const conf = join(dir, 'reflector.conf');
  writeFileSync(
    conf,
    [
      `LISTEN_ADDRESS ${o.host}`,
      `SIP_PORT ${o.sipPort}`,
      'SIP_TRANSPORTS udp',
      'STATUS_LISTEN off',
      'LOG_LEVEL info', // the ready line is at info
      `MAX_PARTICIPANTS ${Math.max(5000, o.calls * 2)}`,
      `MAX_PARTICIPANTS_PER_SESSION ${Math.max(100, o.calls * 2)}`,
      '',
    ].join('\n'),
  );
  const main = join(repoRoot(), 'dist', 'src', 'main.js');
  const refl = new LineProcess(process.execPath, [main, '--config', conf], {
    cwd: dir,
    ...(o.reflectorCpu === undefined ? {} : { cpu: o.reflectorCpu }),
  });
  try {
    await refl.waitForLine((l) => l.includes('"event":"ready"'), 15000);
    const budgetMs = Math.ceil((o.calls / o.callsPerSecond) * 1000 + o.holdMs) + 20000;
    const n = Math.max(1, Math.min(o.clientHosts.length, o.calls));
    const sipps = o.clientHosts.slice(0, n).map((client, i) => {
      const calls = Math.floor(o.calls / n) + (i < o.calls % n ? 1 : 0);
      return new LineProcess(
        'sipp',
        [
          `${o.host}:${o.sipPort}`,
          '-sn', 'uac',
          '-s', 'bench-sip-join',
          '-i', client,
          '-p', '0',
          '-mi', client,
          '-m', String(calls),
          '-r', String(Math.max(1, Math.round(o.callsPerSecond / n))),
          '-d', String(o.holdMs),
          '-trace_msg',
          '-nostdin',
          '-timeout', `${Math.ceil(budgetMs / 1000)}s`,
        ],
        { cwd: dir, ...(o.clientCpu === undefined ? {} : { cpu: o.clientCpu }) },
      );
    });
    try {
      await Promise.all(sipps.map((p) => p.waitForExit(budgetMs + 5000)));
    } finally {
      await Promise.all(sipps.map((p) => p.stop('SIGKILL')));
    }
    const count = (label: string): number => {
      let sum = 0;
      for (const p of sipps) {
        const m = new RegExp(`${label}\\s*\\|[^|]*\\|\\s*(\\d+)`).exec(p.allLines.join('\n'));
        sum += m ? Number(m[1]) : 0;
      }
      return sum;
    };
    const samples = readdirSync(dir)
      .filter((f) => f.endsWith('_messages.log'))
      .flatMap((f) => inviteToOkMs(readFileSync(join(dir, f), 'utf8')));
    samples.sort((a, b) => a - b);
    return {
      calls: o.calls,
      successful: count('Successful call'),
      failed: count('Failed call'),
      samples: samples.length,
      p50Ms: quantile(samples, 0.5),
      p99Ms: quantile(samples, 0.99),
      meanMs: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : -1,
      maxMs: samples.length ? (samples[samples.length - 1] as number) : -1,
    };
  } finally {
    await refl.stop('SIGTERM', 5000);
    rmSync(dir, { recursive: true, force: true });
  }
}
