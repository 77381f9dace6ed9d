/**
 * What the interop launchers (baresip.ts, linphonec.ts, kamailio.ts) share about
 * their child process: its stdout and stderr collected as one text, waits on that
 * text that fail when the process exits first, and a stop by signals on a schedule.
 */
import type { ChildProcess } from 'node:child_process';

export interface WaitMessages {
  /** The rejection message when the process exits before the wait is satisfied. */
  readonly exited: () => string;
  /** The rejection message after the timeout. */
  readonly timeout: () => string;
}

export interface WatchedChild {
  readonly proc: ChildProcess;
  /** stdout and stderr as they arrived (collection stops past `maxChars`), plus any spawn error. */
  text(): string;
  /** True once the process has exited and its output is closed. */
  exited(): boolean;
  /** Resolves once the process has exited and its output is closed. */
  readonly closed: Promise<void>;
  /**
   * Resolves with the first value of `find(text)` that is not undefined, checked now and
   * on every new output; rejects when the process exits first, or after timeoutMs.
   */
  waitFor<T>(find: (text: string) => T | undefined, timeoutMs: number, messages: WaitMessages): Promise<T>;
  /**
   * Unless the process has exited already (or never started), sends each signal of
   * `schedule` at its delay in ms (0: at once) while the process is still running,
   * and resolves once it has exited.
   */
  stop(schedule: readonly (readonly [number, NodeJS.Signals])[]): Promise<void>;
}

export function watchChild(proc: ChildProcess, maxChars: number): WatchedChild {
  let out = '';
  let exited = false;
  const listeners = new Set<() => void>();
  const onData = (c: Buffer): void => {
    if (out.length < maxChars) out += c.toString('utf8');
    for (const l of [...listeners]) l();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const closed = new Promise<void>((resolve) => {
    proc.on('close', () => {
      exited = true;
      for (const l of [...listeners]) l();
      resolve();
    });
  });
  proc.on('error', (e) => { out += `\nspawn error: ${e.message}`; });
  return {
    proc,
    text: () => out,
    exited: () => exited,
    closed,
    waitFor(find, timeoutMs, messages) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = find(out);
          if (found !== undefined) { done(); resolve(found); } else if (exited) { done(); reject(new Error(messages.exited())); }
        };
        const t = setTimeout(() => { done(); reject(new Error(messages.timeout())); }, timeoutMs);
        const done = (): void => { clearTimeout(t); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    async stop(schedule) {
      if (exited || proc.pid === undefined) return;
      const timers = schedule.map(([delayMs, signal]) => {
        if (delayMs <= 0) { proc.kill(signal); return undefined; }
        return setTimeout(() => { if (!exited) proc.kill(signal); }, delayMs);
      });
      await closed;
      for (const t of timers) if (t !== undefined) clearTimeout(t);
    },
  };
}
