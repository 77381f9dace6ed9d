/**
 * Anti-replay window for the SEQ TLV of authenticated control packets (SPEC §6:
 * SEQ increases per BOOT_EPOCH). A sliding window of 32 sequence numbers, as in
 * IPsec (RFC 4303 §3.4.3), so that a datagram reordered by the network is still
 * accepted once while a replayed one is refused.
 */
export const SEQ_WINDOW_SIZE = 32;

export class SeqWindow {
  /** Highest SEQ accepted, -1 before the first. */
  #top = -1;
  /** Bit i set: SEQ (top - i) has been accepted. */
  #mask = 0;

  /** Records `seq` (u32) and returns true if it was not seen before and is inside the window. */
  accept(seq: number): boolean {
    if (seq > this.#top) {
      const shift = seq - this.#top;
      this.#mask = shift >= SEQ_WINDOW_SIZE ? 1 : ((this.#mask << shift) | 1) >>> 0;
      this.#top = seq;
      return true;
    }
    const diff = this.#top - seq;
    if (diff >= SEQ_WINDOW_SIZE) return false;
    const bit = (1 << diff) >>> 0;
    if ((this.#mask & bit) !== 0) return false;
    this.#mask = (this.#mask | bit) >>> 0;
    return true;
  }

  /** Forgets everything (a new BOOT_EPOCH starts a new SEQ space). */
  reset(): void {
    this.#top = -1;
    this.#mask = 0;
  }
}
