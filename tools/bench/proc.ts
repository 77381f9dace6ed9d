/**
 * Child processes for the benchmark: spawned (optionally pinned to one CPU
 * with `taskset -c N`), their stdout read as lines, waited on with bounded
 * timeouts whose timers are cleared, and stopped by their own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

let tasksetChecked: boolean | undefined;

/** True when `taskset` runs here (the bench pins the reflector and the harness to different CPUs). */
export function hasTaskset(): boolean {
  if (tasksetChecked === undefined) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetChecked = r.status === 0;
  }
  return tasksetChecked;
}

export interface SpawnOptions {
  /** CPU to pin the process to with taskset (ignored when taskset is missing). */
  readonly cpu?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Keep at most this many characters of stderr for error messages. */
  readonly stderrLimit?: number;
}

/** A spawned child whose stdout arrives as lines. */
export class LineProcess {
  readonly child: ChildProcess;
  readonly command: string;
  #stdoutBuf = '';
  #stderr = '';
  readonly #lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  #exited = false;
  #exitCode: number | null = null;
  readonly #stderrLimit: number;

  constructor(file: string, args: readonly string[], opts: SpawnOptions = {}) {
    const pinned = opts.cpu !== undefined && hasTaskset();
    const cmd = pinned ? 'taskset' : file;
    const argv = pinned ? ['-c', String(opts.cpu), file, ...args] : [...args];
    this.command = [cmd, ...argv].join(' ');
    this.#stderrLimit = opts.stderrLimit ?? 8000;
    this.child = spawn(cmd, argv, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      this.#stdoutBuf += chunk;
      let nl = this.#stdoutBuf.indexOf('\n');
      while (nl >= 0) {
        this.#lines.push(this.#stdoutBuf.slice(0, nl));
        this.#stdoutBuf = this.#stdoutBuf.slice(nl + 1);
        nl = this.#stdoutBuf.indexOf('\n');
      }
      this.#wake();
    });
    this.child.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk;
      if (this.#stderr.length > this.#stderrLimit) this.#stderr = this.#stderr.slice(-this.#stderrLimit);
    });
    this.child.stdin?.on('error', () => undefined);
    this.child.on('error', (err) => {
      this.#stderr += `\nspawn error: ${err.message}`;
      this.#exited = true;
      this.#wake();
    });
    this.child.on('exit', (code) => {
      if (this.#stdoutBuf.length > 0) {
        this.#lines.push(this.#stdoutBuf);
        this.#stdoutBuf = '';
      }
      this.#exited = true;
      this.#exitCode = code;
      this.#wake();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get exited(): boolean {
    return this.#exited;
  }
  get exitCode(): number | null {
    return this.#exitCode;
  }
  get stderr(): string {
    return this.#stderr;
  }
  /** Every stdout line seen so far (the consumed ones included). */
  get allLines(): readonly string[] {
    return this.#lines;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Resolves with the first stdout line from index `from` on that matches, and its index.
   * Rejects after `timeoutMs` or when the process exits first.
   */
  async waitForLine(match: (line: string) => boolean, timeoutMs: number, from = 0): Promise<{ line: string; index: number }> {
    return await new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        for (let i = from; i < this.#lines.length; i++) {
          const line = this.#lines[i] as string;
          if (match(line)) {
            done();
            resolve({ line, index: i });
            return;
          }
        }
        if (this.#exited) {
          done();
          reject(new Error(`${this.command}: exited (code ${this.#exitCode}) before the expected output; stderr: ${this.#stderr.slice(-2000)}`));
        }
      };
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.#waiters.delete(check);
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`${this.command}: no expected output within ${timeoutMs} ms; stderr: ${this.#stderr.slice(-2000)}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the exit code once the process has exited, or rejects after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<number | null> {
    if (this.#exited) return this.#exitCode;
    return await new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.#exited) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.#exitCode);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.command}: still running after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Writes one line to the child's stdin. */
  writeLine(line: string): void {
    this.child.stdin?.write(line + '\n');
  }

  /** Sends `signal` to this child's pid, waits up to `graceMs`, then SIGKILL. Idempotent. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
    if (this.#exited || this.child.pid === undefined) return;
    this.child.kill(signal);
    try {
      await this.waitForExit(graceMs);
    } catch {
      this.child.kill('SIGKILL');
      if (!this.#exited) await once(this.child, 'exit');
    }
  }
}
