/**
 * Structured logging: one JSON object per line on stdout (SPEC §10).
 * Nothing on the hot path logs per packet; input defects are counted and
 * reported through a RateLimitedLog at most once per interval per key.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  debug(event: string, fields?: LogFields): void;
  /** A logger whose lines carry `component` (and any extra fields). */
  child(fields: LogFields): Logger;
  setLevel(level: LogLevel): void;
}

export type LogWrite = (line: string) => void;

class JsonLogger implements Logger {
  #rank: { value: number };
  readonly #base: LogFields;
  readonly #write: LogWrite;

  constructor(rank: { value: number }, base: LogFields, write: LogWrite) {
    this.#rank = rank;
    this.#base = base;
    this.#write = write;
  }

  #emit(level: LogLevel, event: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] > this.#rank.value) return;
    const record: LogFields = { time: new Date().toISOString(), level, event, ...this.#base, ...fields };
    let line: string;
    try {
      line = JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      line = JSON.stringify({ time: record.time, level, event, note: 'unserialisable fields' });
    }
    this.#write(line + '\n');
  }

  error(event: string, fields?: LogFields): void { this.#emit('error', event, fields); }
  warn(event: string, fields?: LogFields): void { this.#emit('warn', event, fields); }
  info(event: string, fields?: LogFields): void { this.#emit('info', event, fields); }
  debug(event: string, fields?: LogFields): void { this.#emit('debug', event, fields); }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.#rank, { ...this.#base, ...fields }, this.#write);
  }

  setLevel(level: LogLevel): void {
    this.#rank.value = LEVEL_RANK[level];
  }
}

/** Creates the root logger. `write` defaults to process.stdout. */
export function createLogger(level: LogLevel = 'info', write?: LogWrite): Logger {
  const out: LogWrite = write ?? ((line) => { process.stdout.write(line); });
  return new JsonLogger({ value: LEVEL_RANK[level] }, {}, out);
}

/** A logger that drops everything (tests, tools). */
export function silentLogger(): Logger {
  return createLogger('error', () => undefined);
}
