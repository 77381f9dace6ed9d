/**
 * RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      defined by profile       |           length              |  (X=1, §5.3.1;
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   length in
 *    |                        header extension                       |   32-bit words)
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                            payload  ....   | padding ... | cnt |  (P=1: last octet
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   = padding count,
 *                                                                        itself included)
 *
 * An RFC 6263 keep-alive is an RTP packet with no payload (any PT): it parses
 * like any other, with payloadLength 0.
 *
 * All offsets in a parsed RtpHeader are absolute offsets into the parsed buffer.
 */
import { readU16, readU32, writeU16, writeU32 } from './big-endian.js';

/** RFC 3550 §5.1: V = 2. */
export const RTP_VERSION = 2;
/** RFC 3550 §5.1: 12 octets before the CSRC list. */
export const RTP_FIXED_HEADER_SIZE = 12;
/** RFC 3550 §5.1: CC is 4 bits. */
export const RTP_MAX_CSRCS = 15;
/** RFC 3550 §5.3.1: the 4-octet extension header (profile, length). */
export const RTP_EXTENSION_HEADER_SIZE = 4;

// Byte 0.
export const RTP_VERSION_SHIFT = 6;
export const RTP_PADDING_MASK = 0x20;
export const RTP_EXTENSION_MASK = 0x10;
export const RTP_CC_MASK = 0x0f;
// Byte 1.
export const RTP_MARKER_MASK = 0x80;
export const RTP_PT_MASK = 0x7f;
// Field offsets.
const OFFSET_B0 = 0;
const OFFSET_B1 = 1;
const OFFSET_SEQ = 2;
const OFFSET_TIMESTAMP = 4;
const OFFSET_SSRC = 8;
const OFFSET_CSRCS = 12;
const CSRC_SIZE = 4;
const EXT_OFFSET_PROFILE = 0;
const EXT_OFFSET_LENGTH = 2;
const WORD = 4;

export const RtpDrop = {
  TooShort: 'rtp_too_short',
  BadVersion: 'rtp_bad_version',
  CsrcOverrun: 'rtp_csrc_overrun',
  ExtensionOverrun: 'rtp_extension_overrun',
  BadPadding: 'rtp_bad_padding',
} as const;
export type RtpDrop = (typeof RtpDrop)[keyof typeof RtpDrop];

/** A decoded RTP header; preallocate one and reuse it for every packet. */
export class RtpHeader {
  version = 0;
  padding = false;
  extension = false;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  csrcCount = 0;
  /** The first csrcCount entries are valid. */
  readonly csrcs = new Uint32Array(RTP_MAX_CSRCS);
  /** "defined by profile" (e.g. 0xBEDE for RFC 8285 one-byte headers); 0 without extension. */
  extensionProfile = 0;
  /** Offset of the extension data (after its 4-octet header); 0 without extension. */
  extensionOffset = 0;
  /** Bytes of extension data (length field × 4), without its 4-octet header. */
  extensionLength = 0;
  /** Bytes from the start of the packet to the payload: 12 + 4·CC (+ 4 + extension). */
  headerLength = 0;
  payloadOffset = 0;
  payloadLength = 0;
  /** Padding octets at the end, the count octet included; 0 when P = 0. */
  paddingLength = 0;
}

/**
 * Decodes the RTP header of `buf[offset, offset+length)` into `out` without
 * allocating. Returns null, or the drop reason (then `out` is unspecified).
 */
export function parseRtpHeader(
  buf: Uint8Array,
  out: RtpHeader,
  offset = 0,
  length = buf.length - offset,
): RtpDrop | null {
  if (offset < 0 || length < RTP_FIXED_HEADER_SIZE || offset + length > buf.length) return RtpDrop.TooShort;
  const end = offset + length;
  const b0 = buf[offset + OFFSET_B0];
  if (b0 >> RTP_VERSION_SHIFT !== RTP_VERSION) return RtpDrop.BadVersion;
  const cc = b0 & RTP_CC_MASK;
  let pos = offset + OFFSET_CSRCS + CSRC_SIZE * cc;
  if (pos > end) return RtpDrop.CsrcOverrun;

  const hasExtension = (b0 & RTP_EXTENSION_MASK) !== 0;
  let extensionProfile = 0;
  let extensionOffset = 0;
  let extensionLength = 0;
  if (hasExtension) {
    if (pos + RTP_EXTENSION_HEADER_SIZE > end) return RtpDrop.ExtensionOverrun;
    extensionProfile = readU16(buf, pos + EXT_OFFSET_PROFILE);
    extensionLength = WORD * readU16(buf, pos + EXT_OFFSET_LENGTH);
    extensionOffset = pos + RTP_EXTENSION_HEADER_SIZE;
    pos = extensionOffset + extensionLength;
    if (pos > end) return RtpDrop.ExtensionOverrun;
  }

  const hasPadding = (b0 & RTP_PADDING_MASK) !== 0;
  let paddingLength = 0;
  if (hasPadding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    paddingLength = buf[end - 1];
    if (paddingLength === 0 || paddingLength > end - pos) return RtpDrop.BadPadding;
  }

  const b1 = buf[offset + OFFSET_B1];
  out.version = RTP_VERSION;
  out.padding = hasPadding;
  out.extension = hasExtension;
  out.marker = (b1 & RTP_MARKER_MASK) !== 0;
  out.payloadType = b1 & RTP_PT_MASK;
  out.sequenceNumber = readU16(buf, offset + OFFSET_SEQ);
  out.timestamp = readU32(buf, offset + OFFSET_TIMESTAMP);
  out.ssrc = readU32(buf, offset + OFFSET_SSRC);
  out.csrcCount = cc;
  for (let i = 0; i < cc; i++) out.csrcs[i] = readU32(buf, offset + OFFSET_CSRCS + CSRC_SIZE * i);
  out.extensionProfile = extensionProfile;
  out.extensionOffset = extensionOffset;
  out.extensionLength = extensionLength;
  out.headerLength = pos - offset;
  out.payloadOffset = pos;
  out.payloadLength = end - pos - paddingLength;
  out.paddingLength = paddingLength;
  return null;
}

/** The fields writeRtpHeader needs; RtpHeader has them all. */
export interface RtpHeaderFields {
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcCount: number;
  csrcs: ArrayLike<number>;
  extensionProfile: number;
  /** Bytes of extension data; a multiple of 4. */
  extensionLength: number;
}

/** Bytes of the header writeRtpHeader writes (fixed, CSRCs, extension header and data). */
export function rtpHeaderSize(h: RtpHeaderFields): number {
  return (
    RTP_FIXED_HEADER_SIZE +
    CSRC_SIZE * (h.csrcCount & RTP_CC_MASK) +
    (h.extension ? RTP_EXTENSION_HEADER_SIZE + h.extensionLength : 0)
  );
}

/**
 * Writes the header at out[offset]: fixed part, CSRCs, and with X=1 the
 * extension header followed by `extensionData` (h.extensionLength bytes; zeros
 * when not given). Padding, if any, is the caller's (set h.padding and append
 * it after the payload). Returns the bytes written, 0 if `out` is too small or
 * extensionLength is not a multiple of 4.
 */
export function writeRtpHeader(h: RtpHeaderFields, out: Uint8Array, offset: number, extensionData?: Uint8Array): number {
  const size = rtpHeaderSize(h);
  if (offset < 0 || offset + size > out.length) return 0;
  if (h.extension && (h.extensionLength % WORD !== 0 || h.extensionLength > 0xffff * WORD)) return 0;
  const cc = h.csrcCount & RTP_CC_MASK;
  out[offset + OFFSET_B0] =
    (RTP_VERSION << RTP_VERSION_SHIFT) |
    (h.padding ? RTP_PADDING_MASK : 0) |
    (h.extension ? RTP_EXTENSION_MASK : 0) |
    cc;
  out[offset + OFFSET_B1] = (h.marker ? RTP_MARKER_MASK : 0) | (h.payloadType & RTP_PT_MASK);
  writeU16(out, offset + OFFSET_SEQ, h.sequenceNumber);
  writeU32(out, offset + OFFSET_TIMESTAMP, h.timestamp);
  writeU32(out, offset + OFFSET_SSRC, h.ssrc);
  for (let i = 0; i < cc; i++) writeU32(out, offset + OFFSET_CSRCS + CSRC_SIZE * i, h.csrcs[i]);
  if (h.extension) {
    const ext = offset + OFFSET_CSRCS + CSRC_SIZE * cc;
    writeU16(out, ext + EXT_OFFSET_PROFILE, h.extensionProfile);
    writeU16(out, ext + EXT_OFFSET_LENGTH, h.extensionLength / WORD);
    const data = ext + RTP_EXTENSION_HEADER_SIZE;
    if (extensionData !== undefined && extensionData.length >= h.extensionLength) {
      out.set(extensionData.subarray(0, h.extensionLength), data);
    } else {
      out.fill(0, data, data + h.extensionLength);
    }
  }
  return size;
}

/** Rewrites the payload type of the RTP packet at buf[offset], keeping the marker bit (SPEC §4). */
export function rewriteRtpPayloadType(buf: Uint8Array, payloadType: number, offset = 0): void {
  buf[offset + OFFSET_B1] = (buf[offset + OFFSET_B1] & RTP_MARKER_MASK) | (payloadType & RTP_PT_MASK);
}

/** Input of encodeRtp. */
export interface RtpPacketInit {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: readonly number[];
  extensionProfile?: number;
  /** Extension data; its length must be a multiple of 4. Presence sets X. */
  extensionData?: Uint8Array | undefined;
  /** Padding octets to append (1–255), the count octet included; sets P. */
  paddingLength?: number;
}

/** Allocates a whole RTP packet (tools, tests, the mixer's control of its own stream). */
export function encodeRtp(init: RtpPacketInit, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const csrcs = init.csrcs ?? [];
  if (csrcs.length > RTP_MAX_CSRCS) throw new RangeError('at most 15 CSRCs');
  const ext = init.extensionData;
  if (ext !== undefined && ext.length % WORD !== 0) throw new RangeError('extension data must be a multiple of 4 bytes');
  const paddingLength = init.paddingLength ?? 0;
  if (paddingLength < 0 || paddingLength > 255) throw new RangeError('padding must be 0..255');
  const fields: RtpHeaderFields = {
    padding: paddingLength > 0,
    extension: ext !== undefined,
    marker: init.marker ?? false,
    payloadType: init.payloadType,
    sequenceNumber: init.sequenceNumber,
    timestamp: init.timestamp,
    ssrc: init.ssrc,
    csrcCount: csrcs.length,
    csrcs,
    extensionProfile: init.extensionProfile ?? 0,
    extensionLength: ext?.length ?? 0,
  };
  const headerSize = rtpHeaderSize(fields);
  const out = Buffer.alloc(headerSize + payload.length + paddingLength);
  writeRtpHeader(fields, out, 0, ext);
  out.set(payload, headerSize);
  if (paddingLength > 0) out[out.length - 1] = paddingLength;
  return out;
}
