/**
 * A set of named timers owned by one object. Setting a name that is already
 * running replaces it; `dispose()` clears everything and is idempotent.
 * Timers are unref'd so that they never keep a process alive on their own.
 */
export class TimerSet {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #disposed = false;

  /** Runs `fn` once after `ms`; replaces a timer of the same name. */
  set(name: string, ms: number, fn: () => void): void {
    if (this.#disposed) return;
    this.clear(name);
    const t = setTimeout(() => {
      this.#timers.delete(name);
      fn();
    }, ms);
    t.unref();
    this.#timers.set(name, t);
  }

  /** Runs `fn` every `ms`; replaces a timer of the same name. */
  every(name: string, ms: number, fn: () => void): void {
    if (this.#disposed) return;
    this.clear(name);
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.set(name, t);
  }

  has(name: string): boolean {
    return this.#timers.has(name);
  }

  clear(name: string): void {
    const t = this.#timers.get(name);
    if (t !== undefined) {
      clearTimeout(t);
      this.#timers.delete(name);
    }
  }

  dispose(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#disposed = true;
  }

  get size(): number {
    return this.#timers.size;
  }
}
