/**
 * RFC 4733 telephone-event across clock rates, for the reflect path.
 *
 * Phones negotiate telephone-event at the clock rate of their audio codec
 * (telephone-event/48000 beside opus, /16000 beside G.722 or L16/16000,
 * /8000 beside G.711). A recipient that negotiated telephone-event at another
 * rate than the sender gets a converted copy: its own payload type, the RTP
 * timestamp and every event's duration scaled by outRate / inRate (RFC 4733
 * §2.3.5 and §2.5.1.3 give both in units of the payload's clock). A recipient
 * that negotiated no telephone-event gets nothing (it never agreed to the
 * payload format, RFC 3264 §5.1).
 *
 * The timestamp is scaled as a whole (ts · outRate / inRate mod 2^32): every
 * packet of one event carries the same timestamp, so they stay one event; an
 * upward integer ratio is exact across the 32-bit wrap; a downward one jumps
 * once per wrap of the sender's clock (every 24.8 h at 48 kHz), which starts
 * no event twice. A duration that no longer fits 16 bits after an upward
 * conversion is clamped to 0xffff (RFC 4733 §2.5.1.5 would split it; 1.36 s at
 * 48 kHz is longer than any key press).
 *
 * Converted copies are allocated: telephone-event packets are a few per key
 * press, not the audio hot path. Copies are shared by the recipients of one
 * datagram that want the same payload type and rate.
 */
import { readU16, readU32, writeU16, writeU32 } from '../rtp/big-endian.js';
import { rewriteRtpPayloadType } from '../rtp/rtp-header.js';
import { NO_PT } from './pt-table.js';
import type { CodecMapping } from './api.js';

const RTP_HEADER = 12;
/** RFC 4733 §2.3: event (8), E|R|volume (8), duration (16). */
const EVENT_BLOCK = 4;
const CACHE = 4;

/** The recipient side of a stream: the telephone-event it negotiated (pt NO_PT and rate 0 = none). */
export interface TelephoneEventChoice {
  readonly pt: number;
  readonly rateHz: number;
}

export const NO_TELEPHONE_EVENT: TelephoneEventChoice = { pt: NO_PT, rateHz: 0 };

export function isTelephoneEvent(name: string): boolean {
  return name.toLowerCase() === 'telephone-event';
}

/**
 * The telephone-event a participant is sent converted events in: the one at the clock rate of its
 * first audio codec, else at 8000 Hz, else its first one. `pt` is its own number (participantPt).
 */
export function chooseTelephoneEvent(codecs: readonly CodecMapping[]): TelephoneEventChoice {
  const events = codecs.filter((c) => isTelephoneEvent(c.name) && c.participantPt >= 0 && c.participantPt <= 127 && c.clockRateHz > 0);
  if (events.length === 0) return NO_TELEPHONE_EVENT;
  const audio = codecs.find((c) => !isTelephoneEvent(c.name));
  const pick =
    (audio !== undefined ? events.find((e) => e.clockRateHz === audio.clockRateHz) : undefined) ??
    events.find((e) => e.clockRateHz === 8000) ??
    events[0];
  return { pt: pick.participantPt, rateHz: pick.clockRateHz };
}

/** Offset and length of the RTP payload (CSRCs, extension and padding skipped), or null if malformed. */
export function rtpPayloadBounds(buf: Buffer): { offset: number; length: number } | null {
  if (buf.length < RTP_HEADER) return null;
  let offset = RTP_HEADER + 4 * (buf[0] & 0x0f);
  if ((buf[0] & 0x10) !== 0) {
    if (buf.length < offset + 4) return null;
    offset += 4 + 4 * readU16(buf, offset + 2);
  }
  let end = buf.length;
  if ((buf[0] & 0x20) !== 0 && end > offset) end -= buf[end - 1];
  if (offset > end) return null;
  return { offset, length: end - offset };
}

/** Scales an RTP timestamp or duration from inRate to outRate. */
export function scaleTimestamp(ts: number, inRateHz: number, outRateHz: number): number {
  return Math.floor((ts * outRateHz) / inRateHz) % 0x100000000;
}

/**
 * A copy of telephone-event packet `buf` (clock inRate) for a recipient wanting payload type `pt`
 * at clock `outRate`: PT replaced (marker kept), timestamp and durations scaled. Null when the
 * packet has no complete event block (it is then not delivered).
 */
export function convertTelephoneEvent(buf: Buffer, inRateHz: number, pt: number, outRateHz: number): Buffer | null {
  const bounds = rtpPayloadBounds(buf);
  if (bounds === null || bounds.length < EVENT_BLOCK) return null;
  const out = Buffer.allocUnsafe(buf.length);
  buf.copy(out);
  rewriteRtpPayloadType(out, pt);
  if (inRateHz !== outRateHz) {
    writeU32(out, 4, scaleTimestamp(readU32(buf, 4), inRateHz, outRateHz));
    const blocks = Math.floor(bounds.length / EVENT_BLOCK);
    for (let i = 0; i < blocks; i++) {
      const at = bounds.offset + i * EVENT_BLOCK + 2;
      const d = Math.round((readU16(buf, at) * outRateHz) / inRateHz);
      writeU16(out, at, Math.min(0xffff, d));
    }
  }
  return out;
}

/** Per-datagram cache of converted copies (by generation), so recipients with the same wish share one. */
export class TelephoneEventConverter {
  readonly #gen = new Uint32Array(CACHE);
  readonly #pt = new Uint8Array(CACHE);
  readonly #rate = new Uint32Array(CACHE);
  readonly #buf: (Buffer | null)[] = new Array<Buffer | null>(CACHE).fill(null);
  #next = 0;
  /** Packets delivered converted, and recipients that got none because they negotiated no telephone-event. */
  converted = 0;
  notNegotiated = 0;

  convert(gen: number, buf: Buffer, inRateHz: number, pt: number, outRateHz: number): Buffer | null {
    for (let i = 0; i < CACHE; i++) {
      if (this.#gen[i] === gen && this.#pt[i] === pt && this.#rate[i] === outRateHz) return this.#buf[i];
    }
    const out = convertTelephoneEvent(buf, inRateHz, pt, outRateHz);
    const slot = this.#next;
    this.#next = (slot + 1) % CACHE;
    this.#gen[slot] = gen;
    this.#pt[slot] = pt;
    this.#rate[slot] = outRateHz;
    this.#buf[slot] = out;
    if (out !== null) this.converted++;
    return out;
  }
}
