/**
 * Connections per source address that have not sent their first line yet
 * (`SHARE`/`VIEW`/`PUT`/`GET`). Bounding them per source keeps one host that
 * holds idle connections (each allowed the handshake deadline) from using up a
 * port's connection limit for everyone. The map holds at most one key per
 * pending connection, so it is bounded by the port's connection limit.
 */
export class PendingBySource {
  readonly #counts = new Map<string, number>();
  readonly #max: () => number;

  constructor(max: () => number) {
    this.#max = max;
  }

  /** Takes a slot for `source`; false when it has the maximum pending already. */
  take(source: string): boolean {
    const n = this.#counts.get(source) ?? 0;
    if (n >= this.#max()) return false;
    this.#counts.set(source, n + 1);
    return true;
  }

  /** Gives back a slot taken for `source`. */
  release(source: string): void {
    const n = (this.#counts.get(source) ?? 1) - 1;
    if (n > 0) this.#counts.set(source, n);
    else this.#counts.delete(source);
  }
}
