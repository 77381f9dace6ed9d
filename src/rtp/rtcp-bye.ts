/**
 * RTCP BYE (RFC 3550 §6.6).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|    SC   |   PT=BYE=203  |             length            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           SSRC/CSRC                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :                              ...                              :
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |     length    |               reason for leaving            ... (opt)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The optional reason is padded with null octets to a 32-bit boundary.
 */
import { readU32, writeU32 } from './big-endian.js';
import { RTCP_HEADER_SIZE, RTCP_MAX_COUNT, RtcpPacketType, type RtcpPacketView, fits, rtcpBodyLength, writeRtcpHeader } from './rtcp-compound.js';

const SSRC_SIZE = 4;
const WORD = 4;
export const BYE_MAX_REASON = 255;

export const RtcpByeDrop = {
  WrongType: 'rtcp_bye_wrong_type',
  TooShort: 'rtcp_bye_too_short',
  ReasonOverrun: 'rtcp_bye_reason_overrun',
} as const;
export type RtcpByeDrop = (typeof RtcpByeDrop)[keyof typeof RtcpByeDrop];

/** A decoded BYE; preallocate and reuse. */
export class RtcpBye {
  /** The first `count` entries are valid. */
  readonly ssrcs = new Uint32Array(RTCP_MAX_COUNT);
  count = 0;
  /** Absolute offset and length of the reason text; length -1 when absent. */
  reasonOffset = 0;
  reasonLength = -1;
}

/** Decodes the BYE packet `view` of `buf` into `out` without allocating. */
export function parseBye(buf: Buffer, view: RtcpPacketView, out: RtcpBye): RtcpByeDrop | null {
  if (view.packetType !== RtcpPacketType.BYE) return RtcpByeDrop.WrongType;
  const sc = view.count;
  const body = rtcpBodyLength(view);
  if (body < SSRC_SIZE * sc || view.offset + view.length > buf.length) return RtcpByeDrop.TooShort;
  const first = view.offset + RTCP_HEADER_SIZE;
  let reasonOffset = 0;
  let reasonLength = -1;
  const rest = body - SSRC_SIZE * sc;
  if (rest > 0) {
    const at = first + SSRC_SIZE * sc;
    const len = buf[at];
    if (1 + len > rest) return RtcpByeDrop.ReasonOverrun;
    reasonOffset = at + 1;
    reasonLength = len;
  }
  out.count = sc;
  for (let i = 0; i < sc; i++) out.ssrcs[i] = readU32(buf, first + SSRC_SIZE * i);
  out.reasonOffset = reasonOffset;
  out.reasonLength = reasonLength;
  return null;
}

function reasonBytes(reason: string | undefined): Buffer | null {
  if (reason === undefined) return null;
  const b = Buffer.from(reason, 'utf8');
  if (b.length <= BYE_MAX_REASON) return b;
  let n = BYE_MAX_REASON;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
  return b.subarray(0, n);
}

/** Bytes writeBye writes; 0 when it writes nothing (more than 31 SSRCs). */
export function byeSize(ssrcs: ArrayLike<number>, reason?: string): number {
  if (ssrcs.length > RTCP_MAX_COUNT) return 0;
  const r = reasonBytes(reason);
  return RTCP_HEADER_SIZE + SSRC_SIZE * ssrcs.length + (r === null ? 0 : Math.ceil((1 + r.length) / WORD) * WORD);
}

/**
 * Writes a BYE at out[offset]; the reason is truncated to 255 octets. Returns bytes written, 0
 * when `out` is too small or there are more than 31 SSRCs.
 */
export function writeBye(ssrcs: ArrayLike<number>, reason: string | undefined, out: Uint8Array, offset: number): number {
  const size = byeSize(ssrcs, reason);
  if (size === 0 || !fits(out, offset, size)) return 0;
  writeRtcpHeader(out, offset, RtcpPacketType.BYE, ssrcs.length, size);
  let pos = offset + RTCP_HEADER_SIZE;
  for (let i = 0; i < ssrcs.length; i++, pos += SSRC_SIZE) writeU32(out, pos, ssrcs[i]);
  const r = reasonBytes(reason);
  if (r !== null) {
    out[pos] = r.length;
    out.set(r, pos + 1);
    out.fill(0, pos + 1 + r.length, offset + size);
  }
  return size;
}

/** Allocates a BYE; throws RangeError where writeBye returns 0. */
export function encodeBye(ssrcs: ArrayLike<number>, reason?: string): Buffer {
  const out = Buffer.alloc(byeSize(ssrcs, reason));
  if (writeBye(ssrcs, reason, out, 0) === 0) throw new RangeError('BYE: at most 31 SSRCs');
  return out;
}
