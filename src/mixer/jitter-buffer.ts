/**
 * Adaptive jitter buffer for one mixer input (SPEC §13).
 *
 * Packets are stored by RTP sequence number (a ring of preallocated slots, so
 * reordering and duplicates are handled without allocation) and decoded in
 * sequence order when the mixer clock pulls one frame (20 ms). Playout starts
 * once the buffered audio reaches the target delay, which follows the measured
 * interarrival jitter (RFC 3550 §6.4.1) within [minDelayMs, maxDelayMs].
 * A missing packet whose successors are already here is declared lost and
 * concealed by repeating the last decoded frame with a fade (to silence after
 * fadeMs); packets arriving after their turn are dropped as late. When the
 * buffer stays above target for a second, packets are skipped (one per 200 ms)
 * to bring the delay back down; when the target rises above the buffered
 * delay, playout holds for a frame (concealment); when it runs dry, it
 * re-buffers.
 */

import { seqAdd, seqDiff, seqNewer } from '../rtp/seq.js';

/** The codec side of an input: decodes one packet payload to PCM. */
export interface FrameDecoder {
  /** Samples (at the decoder's sample rate) a payload of `length` bytes decodes to. */
  samplesIn(length: number): number;
  /** Decodes into `out` from `outOffset`; returns samples written (at most samplesIn(length)). */
  decode(payload: Uint8Array, start: number, length: number, out: Int16Array, outOffset: number): number;
  /** Forgets codec state (stream discontinuity). */
  reset(): void;
  /** Frees what the decoder holds outside the JS heap (opus); it is not used afterwards. */
  dispose?(): void;
}

export interface JitterBufferOptions {
  /** RTP timestamp units per second (8000 for G.722). */
  readonly rtpClockRateHz: number;
  /** Decoded samples per second (16000 for G.722). */
  readonly sampleRateHz: number;
  /** Samples per pull() (20 ms at sampleRateHz). */
  readonly frameSamples: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Concealment fades to silence over this time. */
  readonly fadeMs?: number;
  /** Packet slots (a power of two). */
  readonly capacity?: number;
  /** Largest payload stored; longer payloads are dropped. */
  readonly maxPayloadBytes?: number;
}

export const JitterDrop = {
  Late: 'jb_late',
  Duplicate: 'jb_duplicate',
  TooLarge: 'jb_payload_too_large',
} as const;
export type JitterDrop = (typeof JitterDrop)[keyof typeof JitterDrop];

/** What a pulled frame holds. */
export const FrameKind = { Audio: 0, Concealed: 1, Silence: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface JitterStats {
  received: number;
  late: number;
  duplicate: number;
  tooLarge: number;
  lost: number;
  underruns: number;
  adaptDrops: number;
  holds: number;
  resets: number;
}

const CONSECUTIVE_LATE_RESET = 16;
/** Pulls the delay must stay above target before the first skip (1 s), then between skips (200 ms). */
const SHRINK_AFTER_PULLS = 50;
const SHRINK_REPEAT_PULLS = 10;
/** Pulls the delay must stay a frame below target before playout holds for a frame. */
const HOLD_AFTER_PULLS = 3;

export class JitterBuffer {
  readonly stats: JitterStats = {
    received: 0,
    late: 0,
    duplicate: 0,
    tooLarge: 0,
    lost: 0,
    underruns: 0,
    adaptDrops: 0,
    holds: 0,
    resets: 0,
  };

  readonly #decoder: FrameDecoder;
  readonly #clockHz: number;
  readonly #rateHz: number;
  readonly #frame: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #fadeSamples: number;
  readonly #mask: number;
  readonly #maxPayload: number;

  // Packet slots
  readonly #used: Uint8Array;
  readonly #seq: Uint16Array;
  readonly #len: Uint16Array;
  readonly #data: Uint8Array;
  #stored = 0;

  // Decoded samples waiting to be pulled
  readonly #fifo: Int16Array;
  #fifoLen = 0;
  /** Last real audio frame, the source of concealment. */
  readonly #last: Int16Array;
  #haveLast = false;
  #concealed = 0; // samples concealed in the current run

  #started = false;
  #playing = false;
  #playSeq = 0;
  #highestSeq = 0;
  #packetSamples = 0;
  #consecutiveLate = 0;
  #aboveTarget = 0;
  #belowTarget = 0;

  // RFC 3550 interarrival jitter, in ms
  #jitterMs = 0;
  #lastTransitMs = 0;
  #haveTransit = false;

  constructor(decoder: FrameDecoder, options: JitterBufferOptions) {
    this.#decoder = decoder;
    this.#clockHz = options.rtpClockRateHz;
    this.#rateHz = options.sampleRateHz;
    this.#frame = options.frameSamples;
    this.#minDelayMs = options.minDelayMs ?? 40;
    this.#maxDelayMs = options.maxDelayMs ?? 200;
    this.#fadeSamples = Math.max(1, Math.round(((options.fadeMs ?? 60) * this.#rateHz) / 1000));
    const capacity = options.capacity ?? 64;
    if ((capacity & (capacity - 1)) !== 0) throw new RangeError('capacity must be a power of two');
    this.#mask = capacity - 1;
    this.#maxPayload = options.maxPayloadBytes ?? 1920;
    this.#used = new Uint8Array(capacity);
    this.#seq = new Uint16Array(capacity);
    this.#len = new Uint16Array(capacity);
    this.#data = new Uint8Array(capacity * this.#maxPayload);
    // Room for one frame plus the largest packet (maxPayload bytes of a codec with ≤ 2 samples per byte).
    this.#fifo = new Int16Array(this.#frame + 2 * this.#maxPayload);
    this.#last = new Int16Array(this.#frame);
    this.#packetSamples = this.#frame;
  }

  get jitterMs(): number {
    return this.#jitterMs;
  }

  /** Current target delay: one frame plus four times the jitter, within the bounds. */
  get targetDelayMs(): number {
    const frameMs = (this.#frame * 1000) / this.#rateHz;
    const t = frameMs + 4 * this.#jitterMs;
    return t < this.#minDelayMs ? this.#minDelayMs : t > this.#maxDelayMs ? this.#maxDelayMs : t;
  }

  /** Audio buffered ahead of the playout point, in ms (lost packets count as their duration). */
  get bufferedMs(): number {
    const span = this.#stored > 0 ? seqDiff(this.#highestSeq, this.#playSeq) + 1 : 0;
    return ((span * this.#packetSamples + this.#fifoLen) * 1000) / this.#rateHz;
  }

  get playing(): boolean {
    return this.#playing;
  }

  /** Empties the buffer and the decoder; the next packet starts a new stream. */
  reset(): void {
    this.#used.fill(0);
    this.#stored = 0;
    this.#fifoLen = 0;
    this.#started = false;
    this.#playing = false;
    this.#consecutiveLate = 0;
    this.#aboveTarget = 0;
    this.#haveTransit = false;
    this.#decoder.reset();
  }

  /**
   * Stores one packet's payload (copied). `arrivalMs` is a monotonic clock reading.
   * Returns null, or why the packet was dropped.
   */
  push(seq: number, timestamp: number, payload: Uint8Array, start: number, length: number, arrivalMs: number): JitterDrop | null {
    if (length > this.#maxPayload) {
      this.stats.tooLarge++;
      return JitterDrop.TooLarge;
    }
    seq &= 0xffff;
    if (!this.#started) {
      this.#started = true;
      this.#playing = false;
      this.#playSeq = seq;
      this.#highestSeq = seq;
    }
    let d = seqDiff(seq, this.#playSeq);
    if (d < 0) {
      if (++this.#consecutiveLate < CONSECUTIVE_LATE_RESET) {
        this.stats.late++;
        return JitterDrop.Late;
      }
      this.#restartAt(seq); // the sender went back in sequence: a new stream
      d = 0;
    } else if (d > this.#mask) {
      this.#restartAt(seq); // too far ahead of the playout point: resynchronise
      d = 0;
    }
    this.#consecutiveLate = 0;
    const slot = seq & this.#mask;
    if (this.#used[slot] === 1 && this.#seq[slot] === seq) {
      this.stats.duplicate++;
      return JitterDrop.Duplicate;
    }
    this.#used[slot] = 1;
    this.#seq[slot] = seq;
    this.#len[slot] = length;
    const data = this.#data;
    const base = slot * this.#maxPayload;
    for (let i = 0; i < length; i++) data[base + i] = payload[start + i]; // no view object per packet
    this.#stored++;
    if (seqNewer(seq, this.#highestSeq)) this.#highestSeq = seq;
    this.stats.received++;

    // RFC 3550 §6.4.1 interarrival jitter (in ms here).
    const transit = arrivalMs - (timestamp * 1000) / this.#clockHz;
    if (this.#haveTransit) {
      let dt = transit - this.#lastTransitMs;
      if (dt < 0) dt = -dt;
      // A timestamp wrap (or a jump) shows up as a huge dt: ignore it.
      if (dt < 1000) this.#jitterMs += (dt - this.#jitterMs) / 16;
    }
    this.#lastTransitMs = transit;
    this.#haveTransit = true;
    return null;
  }

  #restartAt(seq: number): void {
    this.stats.resets++;
    this.#used.fill(0);
    this.#stored = 0;
    this.#playSeq = seq;
    this.#highestSeq = seq;
    this.#playing = false;
    this.#consecutiveLate = 0;
    this.#decoder.reset();
  }

  /** Writes exactly frameSamples samples into `out` (from 0); returns what they hold. */
  pull(out: Int16Array): FrameKind {
    const frame = this.#frame;
    if (!this.#playing) {
      if (this.#stored > 0 && this.bufferedMs >= this.targetDelayMs) {
        this.#playing = true;
      } else {
        return this.#concealInto(out, 0, frame);
      }
    }

    // Grow towards a target that rose with the jitter: hold playout for one frame.
    if (this.#stored > 0 && this.bufferedMs + (frame * 1000) / this.#rateHz < this.targetDelayMs) {
      if (++this.#belowTarget >= HOLD_AFTER_PULLS) {
        this.#belowTarget = 0;
        this.stats.holds++;
        return this.#concealInto(out, 0, frame);
      }
    } else {
      this.#belowTarget = 0;
    }

    let real = false;
    while (this.#fifoLen < frame) {
      const slot = this.#playSeq & this.#mask;
      if (this.#used[slot] === 1 && this.#seq[slot] === this.#playSeq) {
        this.#decodeSlot(slot);
        real = true;
      } else if (this.#stored > 0) {
        // Its successors are here and its time has come: lost.
        this.stats.lost++;
        const n = Math.min(this.#packetSamples, this.#fifo.length - this.#fifoLen);
        this.#conceal(this.#fifo, this.#fifoLen, n);
        this.#fifoLen += n;
        this.#playSeq = seqAdd(this.#playSeq, 1);
      } else {
        this.stats.underruns++;
        this.#playing = false;
        break;
      }
    }

    let kind: FrameKind;
    const have = this.#fifoLen < frame ? this.#fifoLen : frame;
    const fifo = this.#fifo;
    for (let i = 0; i < have; i++) out[i] = fifo[i];
    if (have < frame) {
      const k = this.#concealInto(out, have, frame - have);
      kind = real ? FrameKind.Audio : k;
    } else {
      kind = real || this.#concealed === 0 ? FrameKind.Audio : FrameKind.Concealed;
    }
    this.#fifo.copyWithin(0, have, this.#fifoLen);
    this.#fifoLen -= have;
    if (kind === FrameKind.Audio) {
      const last = this.#last;
      for (let i = 0; i < frame; i++) last[i] = out[i];
      this.#haveLast = true;
    }
    this.#adapt();
    return kind;
  }

  #decodeSlot(slot: number): void {
    const len = this.#len[slot];
    const room = this.#fifo.length - this.#fifoLen;
    const want = this.#decoder.samplesIn(len);
    let n = 0;
    if (want <= room) {
      n = this.#decoder.decode(this.#data, slot * this.#maxPayload, len, this.#fifo, this.#fifoLen);
    }
    this.#fifoLen += n;
    if (n > 0) this.#packetSamples = n;
    this.#used[slot] = 0;
    this.#stored--;
    this.#playSeq = seqAdd(this.#playSeq, 1);
    this.#concealed = 0;
  }

  /** Fills out[offset, offset+count) with concealment; returns Concealed or Silence. */
  #concealInto(out: Int16Array, offset: number, count: number): FrameKind {
    const audible = this.#conceal(out, offset, count);
    return audible ? FrameKind.Concealed : FrameKind.Silence;
  }

  /** Repeats the last frame with a linear fade; returns whether any sample was non-zero. */
  #conceal(out: Int16Array, offset: number, count: number): boolean {
    const fade = this.#fadeSamples;
    if (!this.#haveLast || this.#concealed >= fade) {
      out.fill(0, offset, offset + count);
      this.#concealed = fade;
      return false;
    }
    const last = this.#last;
    const frame = this.#frame;
    let t = this.#concealed;
    for (let i = 0; i < count; i++, t++) {
      out[offset + i] = t < fade ? Math.round((last[t % frame] * (fade - t)) / fade) : 0;
    }
    this.#concealed = t < fade ? t : fade;
    return true;
  }

  /** Skips a packet when the delay has stayed well above target for a while, or is beyond the maximum. */
  #adapt(): void {
    if (!this.#playing || this.#stored === 0) {
      this.#aboveTarget = 0;
      return;
    }
    const frameMs = (this.#frame * 1000) / this.#rateHz;
    const level = this.bufferedMs;
    const target = this.targetDelayMs;
    if (level > this.#maxDelayMs + 2 * frameMs) {
      this.#skipOne();
      return;
    }
    if (level > target + 2 * frameMs) {
      if (++this.#aboveTarget >= SHRINK_AFTER_PULLS) this.#skipOne();
    } else {
      this.#aboveTarget = 0;
    }
  }

  #skipOne(): void {
    this.#aboveTarget = SHRINK_AFTER_PULLS - SHRINK_REPEAT_PULLS;
    this.stats.adaptDrops++;
    if (this.#fifoLen >= this.#packetSamples) {
      this.#fifo.copyWithin(0, this.#packetSamples, this.#fifoLen);
      this.#fifoLen -= this.#packetSamples;
      return;
    }
    const slot = this.#playSeq & this.#mask;
    if (this.#used[slot] === 1 && this.#seq[slot] === this.#playSeq) {
      this.#used[slot] = 0;
      this.#stored--;
    }
    this.#playSeq = seqAdd(this.#playSeq, 1);
  }
}
