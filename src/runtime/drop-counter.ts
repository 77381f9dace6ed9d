/**
 * Counts dropped input by stable snake_case reason (the metric label).
 * Counting never allocates once a reason has been seen.
 */
export class DropCounter {
  readonly #counts = new Map<string, number>();

  add(reason: string, n = 1): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + n);
  }

  get(reason: string): number {
    return this.#counts.get(reason) ?? 0;
  }

  total(): number {
    let t = 0;
    for (const v of this.#counts.values()) t += v;
    return t;
  }

  /** A snapshot for status and metrics. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
