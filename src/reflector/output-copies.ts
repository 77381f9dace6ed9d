/**
 * The outputs of one datagram's fan-out that are not the received buffer itself:
 * copies with another PT number, SRTP/SRTCP per recipient context, and stable
 * copies for hooks. Each is made at most once per datagram: `next()` starts a
 * datagram (a new generation) and the caches are keyed by it, so nothing is
 * cleared per datagram and nothing is allocated unless a recipient needs it.
 */
import type { DropCounter } from '../runtime/drop-counter.js';
import { rtpMarkerAndPayloadType, rtpPayloadType } from '../rtp/packet-class.js';
import { rewriteRtpPayloadType } from '../rtp/rtp-header.js';
import { SrtpDrop, type SrtpOutbound } from '../srtp/srtp-context.js';
import type { BatchGroup } from './batched-udp.js';
import { NO_PT } from './pt-table.js';

const PT_TABLE_SIZE = 128;

export class OutputCopies {
  /** The current datagram's generation (never 0 after the first next()). */
  gen = 0;
  readonly #batch: BatchGroup;
  readonly #codecDrops: DropCounter;
  /** Per-datagram cache of PT-rewritten copies: #copyBuf[pt] is valid while #copyGen[pt] === gen. */
  readonly #copyGen = new Uint32Array(PT_TABLE_SIZE);
  readonly #copyBuf: (Buffer | null)[] = new Array<Buffer | null>(PT_TABLE_SIZE).fill(null);

  constructor(batch: BatchGroup, codecDrops: DropCounter) {
    this.#batch = batch;
    this.#codecDrops = codecDrops;
  }

  /** Starts the outputs of a new datagram: the copies of the previous one are no longer reused. */
  next(): void {
    this.gen = (this.gen + 1) >>> 0 || 1;
  }

  /**
   * `buf`, or a copy of it when it is a view into a batched socket's receive arena
   * (REFLECTOR_IO=mmsg), which is reused after the batch: for hooks that may keep the
   * buffer or send it asynchronously (the relay's dgram send, RFLX handling, mixer RTCP).
   * The mixer's RTP hook gets the view: its buffer is valid only during the call (api.ts).
   */
  stable(buf: Buffer): Buffer {
    if (!this.#batch.isTransient(buf)) return buf;
    const copy = Buffer.allocUnsafe(buf.length);
    buf.copy(copy);
    return copy;
  }

  /**
   * `buf` with its PT byte set to `pt` (marker kept). The received buffer is never
   * mutated: sends of the same datagram to other recipients may still be queued in
   * Node (dgram reads the buffer after its address lookup), so a recipient needing a
   * different number gets a copy. Copies are shared by all recipients wanting the
   * same number within one datagram. This path only runs when clients use different
   * dynamic PT numbers for the same codec.
   */
  withPt(buf: Buffer, pt: number): Buffer {
    if (pt === NO_PT || pt === rtpPayloadType(buf)) return buf;
    if (this.#copyGen[pt] === this.gen) {
      const cached = this.#copyBuf[pt];
      if (cached !== null) return cached;
    }
    const copy = Buffer.allocUnsafe(buf.length);
    buf.copy(copy);
    rewriteRtpPayloadType(copy, pt);
    this.#copyGen[pt] = this.gen;
    this.#copyBuf[pt] = copy;
    return copy;
  }

  /**
   * SRTP/SRTCP of `plain` for one recipient's context (SPEC §15), or null when its key is used
   * up. Recipients that share a context and PT numbering get the same bytes within one fan-out
   * (the context remembers its last output for this datagram generation).
   */
  protect(ctx: SrtpOutbound, plain: Buffer, rtcp: boolean): Buffer | null {
    const pt = rtcp ? 256 : rtpMarkerAndPayloadType(plain);
    if (ctx.cacheGen === this.gen && ctx.cachePt === pt && ctx.cacheOut !== null) return ctx.cacheOut;
    const out = rtcp ? ctx.protectRtcp(plain) : ctx.protectRtp(plain);
    if (out === null) {
      this.#codecDrops.add(SrtpDrop.KeyExpired);
      return null;
    }
    ctx.cacheGen = this.gen;
    ctx.cachePt = pt;
    ctx.cacheOut = out;
    return out;
  }
}
