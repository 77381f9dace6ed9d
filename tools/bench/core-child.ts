/**
 * The reflector core in a process of its own, for the benchmark and the load
 * generator (SPEC §11–§12). It creates the core with `createReflectorCore`
 * on a loopback address, and admits participants through the core API until
 * the SIP front end can do it.
 *
 * usage: node core-child.js --listen 127.0.7.1 --audio-port 26000
 *          [--video-port P] [--keepalive-first P] [--max-participants N]
 *
 * Protocol: one JSON object per line. On stdout it prints
 *   {"event":"ready","pid":…,"listen":…,"audioPort":…,"rssBytes":…}
 * once the media sockets are bound, then one reply per command read from stdin:
 *   {"id":1,"cmd":"join","groups":[{"session":"s1","address":"127.0.0.1","ports":[21000,21002]}]}
 *       → {"id":1,"ok":true,"joined":2,"joinUs":{"mean":…,"p50":…,"p99":…,"max":…}}
 *   {"id":2,"cmd":"mem"}      → {"id":2,"ok":true,"rssBytes":…,"heapUsedBytes":…,"externalBytes":…}
 *                                (after a full GC when node runs with --expose-gc)
 *   {"id":3,"cmd":"stats"}    → {"id":3,"ok":true,"participants":…,"sessions":…,"drops":{…}}
 *   {"id":4,"cmd":"leaveAll"} → {"id":4,"ok":true,"left":…}
 *   {"id":6,"cmd":"loopReset"} → {"id":6,"ok":true}   (restarts the event-loop delay histogram)
 *   {"id":7,"cmd":"loop"}     → {"id":7,"ok":true,"p50Ms":…,"p99Ms":…,"maxMs":…,"samples":…}
 *                                (event-loop delay since the last reset, perf_hooks.monitorEventLoopDelay
 *                                 sampling every LOOP_RESOLUTION_MS; the histogram is reset after reading)
 *   {"id":5,"cmd":"exit"}     → closes the core and exits 0 (so do SIGTERM, SIGINT and stdin EOF).
 * Logs of the core go to stderr at level error. Nothing here runs per packet.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { defaultConfig } from '../../src/config/defaults.js';
import type { Config } from '../../src/config/types.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { StreamSpec } from '../../src/reflector/api.js';
import { benchSrtpKeys } from './srtp-keys.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import { loadMmsgAddon } from '../../src/reflector/batched-udp.js';

/**
 * Sampling interval of the event-loop delay monitor (ms). Each sample records how late a
 * timer of this interval fired: a stall of the media loop (a long batch, GC, a slow
 * command) shows up as a delay. 5 ms keeps the monitor's own cost (200 wake-ups/s) small.
 */
const LOOP_RESOLUTION_MS = 5;

/** One group of participants to admit: all in one session, one audio stream each. */
export interface JoinGroup {
  readonly session: string;
  /** SDP address of the participants (where the load harness binds). */
  readonly address: string;
  /** RTP port of each participant (RTCP = port + 1). */
  readonly ports: readonly number[];
  /** SRTP (SPEC §15) with the keys of benchSrtpKeys(session, port). */
  readonly srtp?: boolean;
}


export interface CoreChildArgs {
  readonly listen: string;
  readonly audioPort: number;
  readonly videoPort: number;
  readonly keepaliveFirst: number;
  readonly maxParticipants: number;
}

function parseArgs(argv: readonly string[]): CoreChildArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, dflt: number): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535 * 1000) throw new Error(`core-child: bad ${name} ${v}`);
    return n;
  };
  const listen = get('--listen') ?? '127.0.7.1';
  const audioPort = num('--audio-port', 26000);
  return {
    listen,
    audioPort,
    videoPort: num('--video-port', audioPort + 2),
    keepaliveFirst: num('--keepalive-first', audioPort + 4),
    maxParticipants: num('--max-participants', 100000),
  };
}

/** The core's configuration for a benchmark: defaults, our loopback address and ports, limits raised. */
export function benchConfig(a: CoreChildArgs): Config {
  const base = defaultConfig();
  return {
    ...base,
    reflectorId: 'bench',
    listenAddress: a.listen,
    publicAddress: a.listen,
    sipRealm: 'bench',
    audioPort: a.audioPort,
    videoPort: a.videoPort,
    keepalivePorts: { first: a.keepaliveFirst, last: a.keepaliveFirst + 3 },
    maxSessions: a.maxParticipants,
    maxParticipants: a.maxParticipants,
    maxParticipantsPerSession: Math.min(a.maxParticipants, 1000),
    statusListen: undefined,
    logLevel: 'error',
  };
}

function audioStream(address: string, port: number): StreamSpec {
  return {
    medium: 'audio',
    address,
    rtpPort: port,
    rtcpPort: port + 1,
    direction: 'sendrecv',
    ssrcs: [],
    codecs: [{ canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 }],
  };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
  return sorted[i] as number;
}

function isJoinGroup(v: unknown): v is JoinGroup {
  if (typeof v !== 'object' || v === null) return false;
  const g = v as { session?: unknown; address?: unknown; ports?: unknown };
  return (
    typeof g.session === 'string' &&
    typeof g.address === 'string' &&
    Array.isArray(g.ports) &&
    g.ports.every((p) => Number.isInteger(p) && (p as number) > 0 && (p as number) < 65535)
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const logger = createLogger('error', (line) => {
    process.stderr.write(line);
  });
  const core = createReflectorCore({ config: benchConfig(args), logger });
  await core.start();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();

  const out = (o: Record<string, unknown>): void => {
    process.stdout.write(JSON.stringify(o) + '\n');
  };
  const ids: string[] = [];
  let closing = false;
  const shutdown = async (code: number): Promise<void> => {
    if (closing) return;
    closing = true;
    try {
      await core.close();
    } catch (err) {
      process.stderr.write(`core-child: close failed: ${String(err)}\n`);
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  const handle = (msg: Record<string, unknown>): void => {
    const id = msg.id;
    switch (msg.cmd) {
      case 'join': {
        const groups = Array.isArray(msg.groups) ? msg.groups : [];
        if (!groups.every(isJoinGroup)) {
          out({ id, ok: false, error: 'bad groups' });
          return;
        }
        const times: number[] = [];
        try {
          for (const g of groups) {
            for (const port of g.ports) {
              const t0 = process.hrtime.bigint();
              const pid = core.join({
                session: g.session,
                signalingAddress: g.address,
                mode: 'reflect',
                streams: [g.srtp === true ? { ...audioStream(g.address, port), srtp: benchSrtpKeys(g.session, port) } : audioStream(g.address, port)],
                label: `bench-${g.session}-${port}`,
              });
              times.push(Number(process.hrtime.bigint() - t0) / 1000);
              ids.push(pid);
            }
          }
        } catch (err) {
          out({ id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), joined: times.length });
          return;
        }
        const sorted = [...times].sort((a, b) => a - b);
        const mean = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
        out({
          id,
          ok: true,
          joined: times.length,
          joinUs: { mean, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
        });
        return;
      }
      case 'mem': {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc) {
          gc();
          gc();
        }
        const m = process.memoryUsage();
        out({ id, ok: true, gc: gc !== undefined, rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers });
        return;
      }
      case 'stats': {
        const names = core.sessionNames();
        let participants = 0;
        for (const n of names) participants += core.participantIds(n).length;
        out({ id, ok: true, sessions: names.length, participants, drops: core.drops(), ...nativeFanout() });
        return;
      }
      case 'leaveAll': {
        let left = 0;
        for (const pid of ids.splice(0)) {
          if (core.has(pid)) {
            core.leave(pid, 'kicked');
            left++;
          }
        }
        out({ id, ok: true, left });
        return;
      }
      case 'loopReset':
        loopDelay.reset();
        out({ id, ok: true });
        return;
      case 'loop': {
        const n = loopDelay.count;
        // Each sample is the time between two timer firings, i.e. the interval plus the delay.
        const ms = (ns: number): number => (n > 0 && Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) : 0);
        out({ id, ok: true, p50Ms: ms(loopDelay.percentile(50)), p99Ms: ms(loopDelay.percentile(99)), maxMs: ms(loopDelay.max), samples: n });
        loopDelay.reset();
        return;
      }
      case 'exit':
        loopDelay.disable();
        out({ id, ok: true });
        void shutdown(0);
        return;
      default:
        out({ id, ok: false, error: `unknown cmd ${String(msg.cmd)}` });
    }
  };

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      out({ ok: false, error: 'bad json' });
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      out({ ok: false, error: 'not an object' });
      return;
    }
    try {
      handle(msg as Record<string, unknown>);
    } catch (err) {
      out({ id: (msg as { id?: unknown }).id, ok: false, error: String(err) });
    }
  });
  rl.on('close', () => void shutdown(0));

  const m = process.memoryUsage();
  // The core may choose its UDP I/O at start (REFLECTOR_IO); report it when it says.
  const ioMode = (core as { ioMode?: () => string }).ioMode;
  const io = typeof ioMode === 'function' ? ioMode.call(core) : 'dgram';
  out({ event: 'ready', pid: process.pid, listen: args.listen, audioPort: args.audioPort, io, rssBytes: m.rss, heapUsedBytes: m.heapUsed });
}

/**
 * With batched I/O: datagrams received by the core's sockets and those the addon fanned out
 * itself (native-fanout.ts), over the child's life. The child's only addon sockets are the
 * core's, numbered from 1 by the addon.
 */
function nativeFanout(): { received?: number; nativeFanout?: number } {
  const addon = loadMmsgAddon().addon;
  if (addon === null) return {};
  let received = 0;
  let native = 0;
  for (let id = 1; id <= 16; id++) {
    received += addon.stats(id)[1] ?? 0;
    native += addon.fanStats(id)[0] ?? 0;
  }
  return { received, nativeFanout: native };
}

main().catch((err: unknown) => {
  process.stderr.write(`core-child: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
