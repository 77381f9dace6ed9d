/**
 * RTCP common header and the compound-packet walker (RFC 3550 §6.1, §6.4, appendix A.2).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|  count  |      PT       |             length            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 packet body (length × 4 octets)               |
 *    |                 ...                   | padding ... |  count  |  (P=1)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *    length: the packet's size in 32-bit words minus one, header and padding included.
 *
 * A compound packet is packets back to back. The walker checks what appendix
 * A.2 checks — version 2 in every packet, each length fits, the lengths add up
 * to the datagram, padding only on the last packet — but not that the first
 * packet is SR/RR: SPEC §7 sends RFLX as a bare APP packet, and RFC 5506
 * allows reduced-size RTCP. Unknown packet types are passed through as views.
 */
import { readU16, readU32, writeU16 } from './big-endian.js';

/** RFC 3550 §6.1: V = 2. */
export const RTCP_VERSION = 2;
/** The 4-octet common header. */
export const RTCP_HEADER_SIZE = 4;

export const RTCP_VERSION_SHIFT = 6;
export const RTCP_PADDING_MASK = 0x20;
export const RTCP_COUNT_MASK = 0x1f;
/** The count field is 5 bits. */
export const RTCP_MAX_COUNT = 31;
const OFFSET_B0 = 0;
const OFFSET_PT = 1;
const OFFSET_LENGTH = 2;
const OFFSET_SSRC = 4;
const WORD = 4;

/** RTCP packet types (RFC 3550 §12.1; RFC 4585 feedback types listed for pass-through). */
export const RtcpPacketType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
  PSFB: 206,
  XR: 207,
} as const;

export const RtcpDrop = {
  TooShort: 'rtcp_too_short',
  BadVersion: 'rtcp_bad_version',
  LengthOverrun: 'rtcp_length_overrun',
  BadPadding: 'rtcp_bad_padding',
  PaddingNotLast: 'rtcp_padding_not_last',
} as const;
export type RtcpDrop = (typeof RtcpDrop)[keyof typeof RtcpDrop];

/** One packet of a compound: where it is and its header fields. Preallocate and reuse. */
export class RtcpPacketView {
  packetType = 0;
  /** The 5-bit count field (RC, SC or APP subtype). */
  count = 0;
  /** Absolute offset of the packet's first byte (the common header). */
  offset = 0;
  /** Bytes of the packet, header and padding included: (length field + 1) × 4. */
  length = 0;
  /** Padding octets at the end, the count octet included; 0 when P = 0. */
  padding = 0;
}

/**
 * Non-allocating walker over a compound RTCP packet:
 *
 *     reader.reset(buf);
 *     let r;
 *     while ((r = reader.next(view)) === null) { ...view... }
 *     if (r !== 'end') drops.add(r);
 *
 * After a drop, next() keeps returning 'end'. Packets before the defect have
 * already been returned; a caller that must reject the whole datagram first
 * runs validateRtcpCompound().
 */
export class RtcpCompoundReader {
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  #end = 0;

  /** Walks buf[offset, offset+length). */
  reset(buf: Uint8Array, offset = 0, length = buf.length - offset): this {
    this.#buf = buf;
    this.#pos = Math.max(0, offset);
    this.#end = Math.min(buf.length, this.#pos + Math.max(0, length));
    return this;
  }

  next(view: RtcpPacketView): RtcpDrop | null | 'end' {
    const buf = this.#buf;
    const pos = this.#pos;
    const end = this.#end;
    if (pos >= end) return 'end';
    // Stop after any drop.
    this.#pos = end;
    if (end - pos < RTCP_HEADER_SIZE) return RtcpDrop.TooShort;
    const b0 = buf[pos + OFFSET_B0];
    if (b0 >> RTCP_VERSION_SHIFT !== RTCP_VERSION) return RtcpDrop.BadVersion;
    const length = WORD * (readU16(buf, pos + OFFSET_LENGTH) + 1);
    if (length > end - pos) return RtcpDrop.LengthOverrun;
    let padding = 0;
    if ((b0 & RTCP_PADDING_MASK) !== 0) {
      // RFC 3550 A.2: only the last packet of a compound may be padded.
      if (pos + length !== end) return RtcpDrop.PaddingNotLast;
      padding = buf[pos + length - 1];
      if (padding === 0 || padding > length - RTCP_HEADER_SIZE) return RtcpDrop.BadPadding;
    }
    view.packetType = buf[pos + OFFSET_PT];
    view.count = b0 & RTCP_COUNT_MASK;
    view.offset = pos;
    view.length = length;
    view.padding = padding;
    this.#pos = pos + length;
    return null;
  }
}

const EMPTY = new Uint8Array(0);
const sharedReader = new RtcpCompoundReader();
const sharedView = new RtcpPacketView();

/** Checks a whole compound packet (RFC 3550 A.2 minus the SR/RR-first rule) without allocating. */
export function validateRtcpCompound(buf: Uint8Array, offset = 0, length = buf.length - offset): RtcpDrop | null {
  if (length < RTCP_HEADER_SIZE) return RtcpDrop.TooShort;
  sharedReader.reset(buf, offset, length);
  let r: RtcpDrop | null | 'end';
  while ((r = sharedReader.next(sharedView)) === null) {
    // walk
  }
  return r === 'end' ? null : r;
}

/**
 * SSRC of the sender of the first packet (the word after its header: the
 * sender of SR/RR/APP, the first chunk of SDES, the first source of BYE), or
 * -1 when the first packet is not version 2 or has no such word.
 */
export function rtcpSenderSsrc(buf: Uint8Array, offset = 0, length = buf.length - offset): number {
  if (length < RTCP_HEADER_SIZE + 4 || offset < 0 || offset + length > buf.length) return -1;
  if (buf[offset] >> RTCP_VERSION_SHIFT !== RTCP_VERSION) return -1;
  // A length field of 0 means the packet is the header alone (e.g. BYE with SC=0).
  if (readU16(buf, offset + OFFSET_LENGTH) === 0) return -1;
  return readU32(buf, offset + OFFSET_SSRC);
}

/**
 * RFC 5761 §4 demultiplexing: true when the second byte is an RTCP packet type
 * (192–223), i.e. the datagram is RTCP rather than RTP.
 */
export function looksLikeRtcp(buf: Uint8Array, offset = 0): boolean {
  if (buf.length < offset + 2) return false;
  const pt = buf[offset + OFFSET_PT];
  return pt >= 192 && pt <= 223;
}

/** Bytes of a packet's body after the common header, padding excluded. */
export function rtcpBodyLength(view: RtcpPacketView): number {
  return view.length - RTCP_HEADER_SIZE - view.padding;
}

/** True when `size` bytes from `offset` lie inside `out` (the writers' bounds check). */
export function fits(out: Uint8Array, offset: number, size: number): boolean {
  return Number.isInteger(offset) && offset >= 0 && offset + size <= out.length;
}

/**
 * Writes a common header; `bytes` is the packet's total size (a multiple of 4, at most 2^18).
 * Returns 4, or 0 when `out` is too small or count, type or size is out of range.
 */
export function writeRtcpHeader(
  out: Uint8Array,
  offset: number,
  packetType: number,
  count: number,
  bytes: number,
  padding = false,
): number {
  if (!fits(out, offset, RTCP_HEADER_SIZE)) return 0;
  if (!Number.isInteger(count) || count < 0 || count > RTCP_MAX_COUNT) return 0;
  if (!Number.isInteger(packetType) || packetType < 0 || packetType > 0xff) return 0;
  const words = bytes / WORD - 1;
  if (!Number.isInteger(words) || words < 0 || words > 0xffff) return 0;
  out[offset + OFFSET_B0] = (RTCP_VERSION << RTCP_VERSION_SHIFT) | (padding ? RTCP_PADDING_MASK : 0) | count;
  out[offset + OFFSET_PT] = packetType;
  writeU16(out, offset + OFFSET_LENGTH, words);
  return RTCP_HEADER_SIZE;
}
