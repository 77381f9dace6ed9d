/**
 * Spawns a real reflector process (`node dist/src/main.js --config FILE`) for
 * integration and interop tests, waits for its `ready` log line, and keeps its
 * output so that a failing test can show it.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLines, spawnNode } from './node-process.js';
import { makeTempDir, removeDir } from './temp-dir.js';

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
  const dir = makeTempDir('rtp-reflector-test-');
  const configFile = join(dir, 'reflector.conf');
  writeFileSync(configFile, opts.config);
  const proc = spawnNode([MAIN_JS, '--config', configFile, ...(opts.extraArgs ?? [])], opts.netns, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = new JsonLines<LogRecord>();
  let text = '';
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    if (text.length < 4_000_000) text += chunk;
    lines.push(chunk);
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
    logs: lines.records,
    output: () => text,
    waitForLog(pred, timeoutMs = 10_000) {
      return lines.waitFor(pred, timeoutMs, () => `log line not seen within ${timeoutMs} ms; output:\n${text.slice(-4000)}`);
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
        removeDir(dir);
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

/**
 * Stops every process in `procs` (emptying the array), one after the other; when
 * the test failed, first writes each one's config file name and output tail to stderr.
 */
export async function stopReflectors(procs: ReflectorProcess[], failed: boolean, tailChars = 4000): Promise<void> {
  for (const p of procs.splice(0)) {
    if (failed) process.stderr.write(`--- reflector ${p.configFile} output:\n${p.output().slice(-tailChars)}\n`);
    await p.stop();
  }
}

export interface BaseConfigOptions {
  /** STATUS_LISTEN on `address` at this port instead of off. */
  readonly statusPort?: number;
}

/**
 * A config text with every port on `address` (a loopback address of the test's own),
 * status off unless `opts.statusPort` is given, and `extra` lines at the end.
 */
export function baseConfig(address: string, extra = '', opts: BaseConfigOptions = {}): string {
  return [
    `REFLECTOR_ID test-${address}`,
    `LISTEN_ADDRESS ${address}`,
    `PUBLIC_ADDRESS ${address}`,
    opts.statusPort !== undefined ? `STATUS_LISTEN ${address}:${opts.statusPort}` : 'STATUS_LISTEN off',
    'LOG_LEVEL debug',
    extra,
  ].join('\n') + '\n';
}
