/**
 * Runs the built conference client (`dist/tools/client.js`) as a child process
 * for integration tests: progress events from its stderr JSON lines, the JSON
 * summary from its stdout, all waits bounded.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { JsonLines, spawnNode } from './node-process.js';
import { xorshift32 } from './prng.js';

export const CLIENT_JS = fileURLToPath(new URL('../../tools/client.js', import.meta.url));

export interface ClientResult {
  readonly code: number | null;
  readonly summary: Record<string, unknown>;
}

export interface ClientProcess {
  readonly proc: ChildProcess;
  /** Resolves with the first progress event (stderr JSON line) matching `pred`. */
  event(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code and the parsed stdout summary. */
  done(timeoutMs?: number): Promise<ClientResult>;
  output(): string;
}

export interface ClientOptions {
  readonly server: string;
  readonly local: string;
  readonly session: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Default bound of event() and done(). */
  readonly waitMs: number;
  /** The client's own --timeout (seconds) for each step of an action. */
  readonly stepTimeoutS: number;
  /** Run inside this network namespace (`ip netns exec NS node ...`; see topology.ts). */
  readonly netns?: string;
}

/** A deterministic pseudo-random buffer (xorshift32), so a failure can be reproduced. */
export function deterministicBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  const next = xorshift32(seed >>> 0 || 1);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function bounded<T>(p: Promise<T>, timeoutMs: number, what: string, output: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not within ${timeoutMs} ms; output:\n${output().slice(-3000)}`)), timeoutMs);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

/** Starts the client; the caller kills `proc` in afterEach. */
export function startClient(o: ClientOptions): ClientProcess {
  const argv = [CLIENT_JS, '--server', `${o.server}:5060`, '--session', o.session, '--local', o.local,
    '--timeout', String(o.stepTimeoutS), ...o.args];
  const proc = spawnNode(argv, o.netns, { cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const events = new JsonLines();
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (c: string) => { if (stdout.length < 1_000_000) stdout += c; });
  proc.stderr?.on('data', (c: string) => {
    if (stderr.length < 1_000_000) stderr += c;
    events.push(c);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code))); // close: stdout fully read
  const output = (): string => `stdout: ${stdout}\nstderr: ${stderr}`;
  return {
    proc,
    output,
    event(pred, timeoutMs = o.waitMs) {
      return events.waitFor(pred, timeoutMs, () => `client progress event not within ${timeoutMs} ms; output:\n${output().slice(-3000)}`);
    },
    async done(timeoutMs = o.waitMs) {
      const code = await bounded(exited, timeoutMs, 'client exit', output);
      const line = stdout.trim().split('\n').pop() ?? '';
      let summary: Record<string, unknown>;
      try { summary = JSON.parse(line) as Record<string, unknown>; } catch { throw new Error(`no JSON summary; ${output()}`); }
      return { code, summary };
    },
  };
}

/** SIGKILLs every child still running, waits until each has exited, and empties `children`. */
export async function killChildren(children: ChildProcess[]): Promise<void> {
  const running = children.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = running.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(exits);
}
