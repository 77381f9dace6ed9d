/**
 * The SIP front end's event counts (responses by status, joins, auth failures, ...), one instance
 * shared by the transaction layer and the UAS so that stats() reports them under one flat name space.
 */
export class SipCounters {
  readonly #counts = new Map<string, number>();

  add(key: string, n = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
