/**
 * Remembers the answer to each (participant, REQUEST_ID) so that a retransmitted
 * request gets the same answer and no second allocation (SPEC §7). Bounded in
 * size and age.
 */
export const ANSWER_CACHE_MAX = 4096;

interface CachedAnswer {
  /** null while the answer is being prepared (a retransmission then waits silently). */
  answer: Buffer | null;
  readonly expiresAt: number;
}

export class AnswerCache {
  readonly #entries = new Map<string, CachedAnswer>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = ANSWER_CACHE_MAX) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  static key(participantId: string, requestId: number): string {
    return `${participantId}\n${requestId}`;
  }

  /** undefined: a new request; null: in progress; else the answer to send again. */
  lookup(key: string, now: number): Buffer | null | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.answer;
  }

  begin(key: string, now: number): void {
    this.#prune(now);
    this.#entries.set(key, { answer: null, expiresAt: now + this.#ttlMs });
  }

  complete(key: string, answer: Buffer): void {
    const e = this.#entries.get(key);
    if (e !== undefined) e.answer = answer;
  }

  forgetParticipant(participantId: string): void {
    const prefix = `${participantId}\n`;
    for (const k of [...this.#entries.keys()]) if (k.startsWith(prefix)) this.#entries.delete(k);
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(now: number): void {
    // Oldest first (Map keeps insertion order); bounded by the map's size.
    for (const [k, e] of this.#entries) {
      if (e.expiresAt > now && this.#entries.size < this.#max) break;
      this.#entries.delete(k);
    }
  }
}
