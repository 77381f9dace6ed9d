/**
 * What the bench reads about a reflector process while it is under load, for
 * every implementation alike: CPU time (utime + stime of /proc/<pid>/stat, all
 * threads), the kernel receive-queue drops and the effective receive buffer of
 * its media socket (/proc/net/udp, `ss -uamn`). Nothing here runs per packet.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { udpDrops } from './ports.js';

let clkTck: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK, 100 when unknown). */
export function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    clkTck = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/** utime + stime in clock ticks from the text of /proc/<pid>/stat; undefined when malformed. */
export function parseStatTicks(text: string): number | undefined {
  // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 1).trim().split(/\s+/);
  // f[0] is field 3 (state); utime is field 14, stime field 15.
  const ut = Number(f[11]);
  const st = Number(f[12]);
  return Number.isFinite(ut) && Number.isFinite(st) ? ut + st : undefined;
}

/** CPU seconds (user + system, all threads) used so far by `pid`, or undefined. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const t = parseStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return t === undefined ? undefined : t / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}

/**
 * The effective SO_RCVBUF (bytes, as the kernel books it: twice what was asked) of the UDP
 * socket bound to address:port, from `ss -uamn`; undefined when ss is missing or no match.
 */
export function effectiveRcvbuf(address: string, port: number): number | undefined {
  const r = spawnSync('ss', ['-uamnH', 'src', `${address}:${port}`], { encoding: 'utf8', timeout: 3000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  const m = /skmem:\([^)]*\brb(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

/** Event-loop delay of a Node reflector over a window (ms), from perf_hooks.monitorEventLoopDelay. */
export interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What one load point cost the reflector: CPU, kernel drops at its media socket, stalls. */
export interface PointCost {
  /** CPU µs of the reflector process per packet it delivered, over the measured window. */
  readonly cpuUsPerOutPkt?: number;
  /** Share of one core the reflector used over the measured window, %. */
  readonly cpuPct?: number;
  /** Kernel receive-queue drops of its media socket(s) over the whole point (before → after). */
  readonly rxQueueDrops?: number;
  /** Only for ours: the event loop's delay over the measured window. */
  readonly loopDelay?: LoopDelay;
}

/** Samples CPU time at the start and end of the measured window, drops around the whole point. */
export class CostProbe {
  readonly #pid: number | undefined;
  readonly #address: string;
  readonly #ports: readonly number[];
  readonly #loop: { reset(): Promise<void>; read(): Promise<LoopDelay> } | undefined;
  #drops0 = 0;
  #cpu0: number | undefined;
  #cpu1: number | undefined;
  #t0 = 0;
  #t1 = 0;
  #loopReset: Promise<void> | undefined;
  #loopRead: Promise<LoopDelay> | undefined;

  constructor(
    pid: number | undefined,
    address: string,
    ports: readonly number[],
    loop?: { reset(): Promise<void>; read(): Promise<LoopDelay> },
  ) {
    this.#pid = pid;
    this.#address = address;
    this.#ports = ports;
    this.#loop = loop;
  }

  /** Before the point starts (latching included). */
  begin(): void {
    this.#drops0 = udpDrops(this.#address, this.#ports);
  }

  /** At the start of the measured window. */
  windowStart(): void {
    this.#t0 = performance.now();
    this.#cpu0 = cpuSeconds(this.#pid);
    this.#loopReset = this.#loop?.reset().catch(() => undefined);
  }

  /** At the end of the measured window. */
  windowEnd(): void {
    this.#t1 = performance.now();
    this.#cpu1 = cpuSeconds(this.#pid);
    if (this.#loop) {
      const loop = this.#loop;
      const reset = this.#loopReset ?? Promise.resolve();
      this.#loopRead = reset.then(() => loop.read());
    }
  }

  /** After the point: the cost, given the out packets/s the harness measured. */
  async end(outPps: number): Promise<PointCost> {
    const drops = udpDrops(this.#address, this.#ports) - this.#drops0;
    let loopDelay: LoopDelay | undefined;
    try {
      loopDelay = this.#loopRead ? await this.#loopRead : undefined;
    } catch {
      loopDelay = undefined;
    }
    const out: { -readonly [K in keyof PointCost]: PointCost[K] } = { rxQueueDrops: Math.max(0, drops) };
    if (this.#cpu0 !== undefined && this.#cpu1 !== undefined && this.#t1 > this.#t0) {
      const cpuS = this.#cpu1 - this.#cpu0;
      const wallS = (this.#t1 - this.#t0) / 1000;
      out.cpuPct = (100 * cpuS) / wallS;
      if (outPps > 0) out.cpuUsPerOutPkt = (cpuS * 1e6) / (outPps * wallS);
    }
    if (loopDelay) out.loopDelay = loopDelay;
    return out;
  }
}
