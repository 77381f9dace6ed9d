/**
 * Node child processes for tests (the reflector, the client, the tools): spawning
 * `node SCRIPT` on the host or inside a network namespace, running one to completion
 * with its output, and reading its JSON-lines output with bounded waits.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Spawns `node ...argv`, or `ip netns exec NETNS node ...argv` when `netns` is given
 * (`ip netns exec` execs the command, so proc.pid is node itself and signals reach it).
 */
export function spawnNode(argv: readonly string[], netns: string | undefined, options: SpawnOptions): ChildProcess {
  return netns !== undefined
    ? spawn('ip', ['netns', 'exec', netns, process.execPath, ...argv], options)
    : spawn(process.execPath, [...argv], options);
}

export interface NodeRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** SIGKILL after this long (default 60 s); the run then resolves with code null. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** Runs `node script ...args` to completion and resolves with its exit code and output. */
export function runNode(script: string, args: readonly string[], opts: RunOptions = {}): Promise<NodeRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Waiter<T> {
  readonly pred: (r: T) => boolean;
  readonly resolve: (r: T) => void;
}

/**
 * The JSON objects among the lines of a child's output stream (other lines are
 * skipped), kept in order, with waits for the first one that matches.
 */
export class JsonLines<T extends object = Record<string, unknown>> {
  /** Every record so far. */
  readonly records: T[] = [];
  #partial = '';
  readonly #waiters = new Set<Waiter<T>>();

  /** Feeds a chunk of the stream; each completed line that is a JSON object becomes a record. */
  push(chunk: string): void {
    this.#partial += chunk;
    for (let nl = this.#partial.indexOf('\n'); nl >= 0; nl = this.#partial.indexOf('\n')) {
      const line = this.#partial.slice(0, nl);
      this.#partial = this.#partial.slice(nl + 1);
      let parsed: unknown;
      try { parsed = JSON.parse(line); } catch { continue; }
      if (typeof parsed !== 'object' || parsed === null) continue;
      const rec = parsed as T;
      this.records.push(rec);
      for (const w of [...this.#waiters]) if (w.pred(rec)) { this.#waiters.delete(w); w.resolve(rec); }
    }
  }

  /**
   * Resolves with the first record (past or future) matching `pred`, or rejects after
   * `timeoutMs` with an Error of `timeoutMessage()`. The timer is cleared either way.
   */
  waitFor(pred: (r: T) => boolean, timeoutMs: number, timeoutMessage: () => string): Promise<T> {
    const found = this.records.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = { pred, resolve: (r) => { clearTimeout(timer); resolve(r); } };
      const timer = setTimeout(() => {
        this.#waiters.delete(w);
        reject(new Error(timeoutMessage()));
      }, timeoutMs);
      this.#waiters.add(w);
    });
  }
}
