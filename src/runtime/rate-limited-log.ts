/**
 * Logs a line per key at most once per interval, so that a flood of bad input
 * (which is always counted elsewhere) cannot flood the log.
 */
import type { LogFields, Logger } from './logger.js';

export const DEFAULT_LOG_INTERVAL_MS = 10_000;

export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #loggedAt = new Map<string, number>();

  constructor(logger: Logger, intervalMs = DEFAULT_LOG_INTERVAL_MS) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /** Writes `event` at warn level unless a line with the same key was written within the interval. */
  warn(key: string, event: string, fields: LogFields, now = Date.now()): boolean {
    const last = this.#loggedAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#loggedAt.set(key, now);
    this.#logger.warn(event, fields);
    return true;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }
}
