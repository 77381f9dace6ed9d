/**
 * Bounded waiting on observable state (an HTTP answer, a counter) for tests.
 * Polls `probe` until it returns a value that is not undefined/false, or
 * rejects after `timeoutMs` with the last observation. Clears its own timers.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  what = 'condition',
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      t.unref?.();
    });
  }
}
