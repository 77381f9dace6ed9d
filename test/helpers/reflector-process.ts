/**
 * Spawns a real reflector process (`node dist/src/main.js --config FILE`) for
 * integration and interop tests, waits for its `ready` log line, and keeps its
 * output so that a failing test can show it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/main.js, resolved from dist/test/helpers/. */
export const MAIN_JS = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface LogRecord {
  readonly event?: string;
  readonly level?: string;
  readonly [key: string]: unknown;
}

export interface ReflectorProcess {
  readonly proc: ChildProcess;
  readonly configFile: string;
  readonly dir: string;
  /** Every JSON log line so far. */
  readonly logs: LogRecord[];
  /** stdout/stderr text so far (for failure messages). */
  output(): string;
  /** Resolves with the first log record (past or future) matching `pred`, or rejects after `timeoutMs`. */
  waitForLog(pred: (r: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Rewrites the config file (e.g. before SIGHUP). */
  writeConfig(text: string): void;
  signal(sig: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; removes the temp dir. Idempotent. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartOptions {
  /** Config file text. Tests should always set LISTEN_ADDRESS to a loopback address of their own. */
  readonly config: string;
  readonly readyTimeoutMs?: number;
  readonly extraArgs?: readonly string[];
  /** Run inside this network namespace (`ip netns exec NS node ...`; see topology.ts). */
  readonly netns?: string;
}

export async function startReflector(opts: StartOptions): Promise<ReflectorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rtp-reflector-test-'));
  const configFile = join(dir, 'reflector.conf');
  writeFileSync(configFile, opts.config);
  const argv = [MAIN_JS, '--config', configFile, ...(opts.extraArgs ?? [])];
  // `ip netns exec` execs the command, so proc.pid is the reflector itself and signals reach it.
  const proc = spawn(opts.netns !== undefined ? 'ip' : process.execPath,
    opts.netns !== undefined ? ['netns', 'exec', opts.netns, process.execPath, ...argv] : argv, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogRecord[] = [];
  let text = '';
  let partial = '';
  const waiters = new Set<{ pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }>();
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    if (text.length < 4_000_000) text += chunk;
    partial += chunk;
    let nl = partial.indexOf('\n');
    while (nl >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      nl = partial.indexOf('\n');
      let rec: LogRecord;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed !== 'object' || parsed === null) continue;
        rec = parsed as LogRecord;
      } catch {
        continue;
      }
      logs.push(rec);
      for (const w of [...waiters]) {
        if (w.pred(rec)) { waiters.delete(w); w.resolve(rec); }
      }
    }
  });
  proc.stderr?.on('data', (chunk: string) => { if (text.length < 4_000_000) text += chunk; });
  let exitCode: number | null | undefined;
  const exitPromise = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => { exitCode = code; resolve(code); });
  });
  let stopped = false;

  const handle: ReflectorProcess = {
    proc,
    configFile,
    dir,
    logs,
    output: () => text,
    waitForLog(pred, timeoutMs = 10_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<LogRecord>((resolve, reject) => {
        const w = {
          pred,
          resolve: (r: LogRecord) => { clearTimeout(timer); resolve(r); },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`log line not seen within ${timeoutMs} ms; output:\n${text.slice(-4000)}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    writeConfig(t: string) { writeFileSync(configFile, t); },
    signal(sig) { if (exitCode === undefined) proc.kill(sig); },
    exited: () => exitPromise,
    async stop(graceMs = 5000) {
      if (!stopped) {
        stopped = true;
        if (exitCode === undefined) {
          proc.kill('SIGTERM');
          const killTimer = setTimeout(() => { if (exitCode === undefined) proc.kill('SIGKILL'); }, graceMs);
          await exitPromise;
          clearTimeout(killTimer);
        }
        rmSync(dir, { recursive: true, force: true });
      }
      return exitPromise;
    },
  };

  const readyTimeout = opts.readyTimeoutMs ?? 10_000;
  try {
    await Promise.race([
      handle.waitForLog((r) => r.event === 'ready', readyTimeout),
      exitPromise.then((code) => { throw new Error(`reflector exited with ${code} before ready:\n${text}`); }),
    ]);
  } catch (err) {
    await handle.stop(1000);
    throw err;
  }
  return handle;
}

/** A config text with every port on `address` (a loopback address of the test's own) and status off. */
export function baseConfig(address: string, extra = ''): string {
  return [
    `REFLECTOR_ID test-${address}`,
    `LISTEN_ADDRESS ${address}`,
    `PUBLIC_ADDRESS ${address}`,
    'STATUS_LISTEN off',
    'LOG_LEVEL debug',
    extra,
  ].join('\n') + '\n';
}
