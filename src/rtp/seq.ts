/**
 * Sequence-number and timestamp arithmetic: RTP sequence numbers are mod 2^16,
 * RTP timestamps and RTCP counters mod 2^32 (RFC 3550 §5.1, appendix A.1).
 * Every such comparison in the project goes through this module.
 */

export const SEQ_MOD = 0x10000;
export const SEQ_MASK = 0xffff;
const SEQ_HALF = 0x8000;

/** a + n mod 2^16. */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/** The signed distance a − b mod 2^16, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & SEQ_MASK;
  return d >= SEQ_HALF ? d - SEQ_MOD : d;
}

/** True when a comes after b (serial-number comparison, mod 2^16). */
export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** a + n mod 2^32, as an unsigned number. */
export function tsAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance a − b mod 2^32, in [-2^31, 2^31 − 1]. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

// RFC 3550 appendix A.1 constants.
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const MIN_SEQUENTIAL = 2;

/**
 * Per-source sequence state of RFC 3550 appendix A.1 (init_seq / update_seq):
 * probation, extended highest sequence number with cycles, packets expected
 * and received. Used for receiver reports. Preallocate one per source.
 */
export class RtpSeqState {
  maxSeq = 0;
  /** Shifted count of seq number cycles (multiples of 2^16). */
  cycles = 0;
  baseSeq = 0;
  badSeq = SEQ_MOD + 1;
  probation = MIN_SEQUENTIAL;
  received = 0;
  expectedPrior = 0;
  receivedPrior = 0;

  /** init_seq(): start counting from `seq`. */
  init(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }

  /** Starts probation for a new source whose first packet has `seq`. */
  start(seq: number): void {
    this.init(seq);
    this.maxSeq = (seq - 1) & SEQ_MASK;
    this.probation = MIN_SEQUENTIAL;
  }

  /** update_seq(): returns false when the packet should not count as valid (probation, big jump). */
  update(seq: number): boolean {
    const udelta = (seq - this.maxSeq) & SEQ_MASK;
    if (this.probation > 0) {
      if (seq === ((this.maxSeq + 1) & SEQ_MASK)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.init(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return false;
    } else if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      if (seq === this.badSeq) {
        this.init(seq);
      } else {
        this.badSeq = (seq + 1) & SEQ_MASK;
        return false;
      }
    }
    // else: duplicate or reordered packet
    this.received++;
    return true;
  }

  /** Extended highest sequence number received (RR field), mod 2^32. */
  get extendedMax(): number {
    return (this.cycles + this.maxSeq) >>> 0;
  }

  /** Packets expected since the start (A.3). */
  get expected(): number {
    return this.cycles + this.maxSeq - this.baseSeq + 1;
  }

  /** Cumulative packets lost, clamped to the signed 24-bit RR field (A.3). */
  get cumulativeLost(): number {
    const lost = this.expected - this.received;
    return Math.max(-0x800000, Math.min(0x7fffff, lost));
  }

  /** Fraction lost since the previous call, 8-bit fixed point (A.3); advances the interval. */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval === 0 || lostInterval <= 0) return 0;
    return Math.floor((lostInterval << 8) / expectedInterval) & 0xff;
  }
}
