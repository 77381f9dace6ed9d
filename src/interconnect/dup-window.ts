/**
 * Duplicate suppression for origin-tagged relay datagrams (docs/protocol.md,
 * "Graphs with cycles"): per (session, origin, flow) a window of the last
 * DUP_WINDOW_SIZE ORIGIN_SEQ values, u32 serial arithmetic (RFC 1982), no
 * allocation per packet.
 *
 * A jump of more than DUP_RESTART_DISTANCE either way is not a duplicate but a
 * new sequence space (the origin restarted, or ended and re-created its session
 * with a new random start): the window starts again there.
 */
import { tsDiff } from '../rtp/seq.js';

export const DUP_WINDOW_SIZE = 128;
export const DUP_RESTART_DISTANCE = 0x10000;
const WORDS = DUP_WINDOW_SIZE / 32;

export const DupVerdict = { New: 0, Duplicate: 1, TooOld: 2 } as const;
export type DupVerdict = (typeof DupVerdict)[keyof typeof DupVerdict];

export class DupWindow {
  #top = 0;
  #started = false;
  /** Bit (seq % DUP_WINDOW_SIZE) set: seq within the window was seen. */
  readonly #bits = new Uint32Array(WORDS);

  check(seq: number): DupVerdict {
    if (!this.#started) return this.#restart(seq);
    const d = tsDiff(seq, this.#top); // signed serial distance
    if (d > 0) {
      if (d > DUP_RESTART_DISTANCE) return this.#restart(seq);
      if (d >= DUP_WINDOW_SIZE) {
        this.#bits.fill(0);
      } else {
        for (let s = this.#top + 1, i = 0; i < d; i++, s++) this.#clear(s >>> 0);
      }
      this.#top = seq >>> 0;
      this.#set(seq);
      return DupVerdict.New;
    }
    if (d === 0) return DupVerdict.Duplicate;
    if (d < -DUP_RESTART_DISTANCE) return this.#restart(seq);
    if (-d >= DUP_WINDOW_SIZE) return DupVerdict.TooOld;
    if (this.#isSet(seq)) return DupVerdict.Duplicate;
    this.#set(seq);
    return DupVerdict.New;
  }

  #restart(seq: number): DupVerdict {
    this.#bits.fill(0);
    this.#started = true;
    this.#top = seq >>> 0;
    this.#set(seq);
    return DupVerdict.New;
  }

  #set(seq: number): void {
    const i = seq & (DUP_WINDOW_SIZE - 1);
    this.#bits[i >>> 5] |= 1 << (i & 31);
  }

  #clear(seq: number): void {
    const i = seq & (DUP_WINDOW_SIZE - 1);
    this.#bits[i >>> 5] &= ~(1 << (i & 31));
  }

  #isSet(seq: number): boolean {
    const i = seq & (DUP_WINDOW_SIZE - 1);
    return (this.#bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }
}
