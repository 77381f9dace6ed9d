/**
 * The reflectors the bench compares, each started in its own process pinned
 * to the reflector CPU: `ours` (the core, via core-child.js, participants
 * admitted through the core API), `c` (reflector.c with recvmmsg/sendmmsg)
 * and `naive` (reflector-naive.js, RCVBUF=4194304). The references latch every
 * source; ours admits exactly the harness's addresses.
 */
import { readFile } from 'node:fs/promises';
import { CoreChild } from './core-client.js';
import type { JoinGroup } from './core-child.js';
import type { JoinTimes } from './core-client.js';
import type { PerfRefs } from './perf-refs.js';
import { LineProcess } from './proc.js';
import type { LoopDelay } from './proc-stats.js';

export type Impl = 'ours' | 'c' | 'naive';
export const IMPLS: readonly Impl[] = ['ours', 'c', 'naive'];

export interface RunningReflector {
  readonly impl: Impl;
  readonly host: string;
  readonly port: number;
  /** For ours: the UDP I/O the core chose (dgram or mmsg). */
  readonly io?: string;
  /** Admits the participants (ours) or does nothing (latching references). */
  admit(groups: readonly JoinGroup[]): Promise<JoinTimes | undefined>;
  /** RSS of the reflector process in bytes (from /proc), or undefined. */
  rssBytes(): Promise<number | undefined>;
  /** The reflector's pid (taskset execs it, so this is the reflector itself). */
  readonly pid: number | undefined;
  /** Only for ours: the event-loop delay monitor of the core child. */
  readonly loop?: { reset(): Promise<void>; read(): Promise<LoopDelay> };
  /** Only for ours on batched I/O: datagrams received and fanned out by the addon so far. */
  readonly fanout?: () => Promise<{ received: number; native: number } | undefined>;
  close(): Promise<void>;
}

async function procRss(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a listening UDP process and waits until its port accepts datagrams. */
async function waitUdpBound(proc: LineProcess, host: string, port: number, timeoutMs: number): Promise<void> {
  const want = `${host.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase()).reverse().join('')}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (proc.exited) throw new Error(`${proc.command} exited: ${proc.stderr.slice(-1000)}`);
    const text = await readFile('/proc/net/udp', 'utf8');
    if (text.includes(` ${want} `)) return;
    await new Promise<void>((r) => {
      const t = setTimeout(r, 20);
      t.unref();
    });
  }
  throw new Error(`${proc.command}: ${host}:${port} not bound within ${timeoutMs} ms`);
}

export async function startReflector(
  impl: Impl,
  refs: PerfRefs,
  host: string,
  port: number,
  cpu: number | undefined,
  io?: string,
  workers?: number,
): Promise<RunningReflector> {
  const pin = cpu === undefined ? {} : { cpu };
  if (impl === 'ours') {
    const core = await CoreChild.start({ listen: host, audioPort: port, ...pin, ...(io === undefined ? {} : { io }), ...(workers === undefined ? {} : { workers }) });
    return {
      impl,
      host,
      port,
      io: core.io,
      pid: core.proc.pid,
      loop: { reset: () => core.loopReset(), read: () => core.loopDelay() },
      async fanout() {
        const s = await core.stats();
        return s.received === undefined || s.nativeFanout === undefined ? undefined : { received: s.received, native: s.nativeFanout };
      },
      async admit(groups) {
        const r = await core.join(groups);
        return r.joinUs;
      },
      async rssBytes() {
        return procRss(core.proc.pid);
      },
      async close() {
        await core.close();
      },
    };
  }
  let proc: LineProcess;
  if (impl === 'c') {
    if (refs.reflectorC === undefined) throw new Error('the C reference reflector is missing');
    proc = new LineProcess(refs.reflectorC, [String(port), host], pin);
  } else {
    if (refs.reflectorNaive === undefined) throw new Error('the naive node:dgram reflector is missing');
    proc = new LineProcess(process.execPath, [refs.reflectorNaive, String(port), host], {
      ...pin,
      env: { ...process.env, RCVBUF: '4194304' },
    });
  }
  try {
    await waitUdpBound(proc, host, port, 5000);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return {
    impl,
    host,
    port,
    pid: proc.pid,
    async admit() {
      return undefined;
    },
    async rssBytes() {
      return procRss(proc.pid);
    },
    async close() {
      await proc.stop('SIGTERM', 2000);
    },
  };
}
