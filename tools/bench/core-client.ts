/**
 * The parent side of core-child.js: starts the reflector core in its own
 * (optionally CPU-pinned) process and talks to it with JSON lines.
 */
import { coreChildScript } from './paths.js';
import { LineProcess } from './proc.js';
import type { JoinGroup } from './core-child.js';

export interface CoreChildOptions {
  readonly listen: string;
  readonly audioPort: number;
  readonly cpu?: number;
  readonly maxParticipants?: number;
  readonly readyTimeoutMs?: number;
  /** REFLECTOR_IO for the child (auto, dgram, mmsg); inherited from this process when undefined. */
  readonly io?: string;
  /** REFLECTOR_MEDIA_WORKERS for the child; inherited from this process when undefined. */
  readonly workers?: number;
}

export interface JoinTimes {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface JoinReply {
  readonly joined: number;
  readonly joinUs: JoinTimes;
}

export interface MemReply {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly gc: boolean;
}

export interface StatsReply {
  readonly participants: number;
  readonly sessions: number;
  readonly drops: Readonly<Record<string, number>>;
  /** Batched I/O: datagrams the core's sockets received, and those the addon fanned out itself. */
  readonly received?: number;
  readonly nativeFanout?: number;
}

type Reply = Record<string, unknown> & { id?: unknown; ok?: unknown; error?: unknown };

export class CoreChild {
  readonly proc: LineProcess;
  readonly listen: string;
  readonly audioPort: number;
  /** The UDP I/O the core chose (its ready line), e.g. dgram or mmsg. */
  io = 'unknown';
  #nextId = 1;
  #scan = 0;

  private constructor(proc: LineProcess, listen: string, audioPort: number) {
    this.proc = proc;
    this.listen = listen;
    this.audioPort = audioPort;
  }

  /** Spawns the child and waits for its ready line. */
  static async start(opts: CoreChildOptions): Promise<CoreChild> {
    const args = ['--expose-gc', coreChildScript(), '--listen', opts.listen, '--audio-port', String(opts.audioPort)];
    if (opts.maxParticipants !== undefined) args.push('--max-participants', String(opts.maxParticipants));
    const env = {
      ...process.env,
      ...(opts.io === undefined ? {} : { REFLECTOR_IO: opts.io }),
      ...(opts.workers === undefined ? {} : { REFLECTOR_MEDIA_WORKERS: String(opts.workers) }),
    };
    const proc = new LineProcess(process.execPath, args, opts.cpu === undefined ? { env } : { env, cpu: opts.cpu });
    const child = new CoreChild(proc, opts.listen, opts.audioPort);
    try {
      const { line, index } = await proc.waitForLine((l) => l.includes('"event":"ready"'), opts.readyTimeoutMs ?? 10000);
      child.#scan = index + 1;
      const ready = JSON.parse(line) as { io?: unknown };
      child.io = typeof ready.io === 'string' ? ready.io : 'unknown';
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
    return child;
  }

  async #request(cmd: Record<string, unknown>, timeoutMs = 30000): Promise<Reply> {
    const id = this.#nextId++;
    this.proc.writeLine(JSON.stringify({ ...cmd, id }));
    const tag = `"id":${id},`;
    const { line } = await this.proc.waitForLine((l) => l.includes(tag), timeoutMs, this.#scan);
    const reply = JSON.parse(line) as Reply;
    if (reply.ok !== true) throw new Error(`core-child ${String(cmd.cmd)}: ${String(reply.error)}`);
    return reply;
  }

  async join(groups: readonly JoinGroup[]): Promise<JoinReply> {
    const r = await this.#request({ cmd: 'join', groups });
    return { joined: Number(r.joined), joinUs: r.joinUs as JoinTimes };
  }

  async mem(): Promise<MemReply> {
    const r = await this.#request({ cmd: 'mem' });
    return {
      rssBytes: Number(r.rssBytes),
      heapUsedBytes: Number(r.heapUsedBytes),
      externalBytes: Number(r.externalBytes),
      gc: r.gc === true,
    };
  }

  async stats(): Promise<StatsReply> {
    const r = await this.#request({ cmd: 'stats' });
    const native = typeof r.nativeFanout === 'number' && typeof r.received === 'number' ? { received: r.received, nativeFanout: r.nativeFanout } : {};
    return { participants: Number(r.participants), sessions: Number(r.sessions), drops: r.drops as Record<string, number>, ...native };
  }

  /** Restarts the child's event-loop delay histogram. */
  async loopReset(): Promise<void> {
    await this.#request({ cmd: 'loopReset' });
  }

  /** The child's event-loop delay since the last reset (ms); resets it. */
  async loopDelay(): Promise<{ p50Ms: number; p99Ms: number; maxMs: number }> {
    const r = await this.#request({ cmd: 'loop' });
    return { p50Ms: Number(r.p50Ms), p99Ms: Number(r.p99Ms), maxMs: Number(r.maxMs) };
  }

  async leaveAll(): Promise<number> {
    const r = await this.#request({ cmd: 'leaveAll' });
    return Number(r.left);
  }

  /** Asks the child to close the core and exit; kills it by pid if it does not. Idempotent. */
  async close(): Promise<void> {
    if (this.proc.exited) return;
    this.proc.writeLine(JSON.stringify({ cmd: 'exit', id: this.#nextId++ }));
    try {
      await this.proc.waitForExit(3000);
    } catch {
      await this.proc.stop('SIGKILL');
    }
  }
}
