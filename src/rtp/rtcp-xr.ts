/**
 * RTCP Extended Reports (RFC 3611): the VoIP Metrics report block (§4.7), the one the reflector
 * reads for call quality (loss rate, round-trip delay). Reading only; no allocation.
 */
import { readU16 } from './big-endian.js';

/** The fields of an RFC 3611 §4.7 VoIP Metrics block the reflector uses. */
export interface XrVoip {
  /** Fraction of packets lost × 256. */
  lossRate: number;
  /** Round-trip delay in ms (0 = unknown). */
  roundTripMs: number;
}

/** Report block type of VoIP Metrics (RFC 3611 §4.7). */
export const XR_VOIP_METRICS = 7;
/** Size of a VoIP Metrics block: 4-byte block header + 32 bytes (RFC 3611 §4.7, block length 8). */
export const XR_VOIP_BLOCK_BYTES = 36;
/** Blocks walked per XR packet at most (a forged packet could announce thousands of tiny ones). */
const MAX_XR_BLOCKS = 32;
/** XR header (4) + reporter SSRC (4). */
const XR_HEADER_BYTES = 8;

/**
 * The first VoIP Metrics block of the XR packet at buf[offset, offset + length) (header, reporter
 * SSRC, then blocks of BT(8) type-specific(8) block length(16, 32-bit words − 1)), read into `out`;
 * `out`, or null when there is none. Never reads past the packet or the buffer.
 */
export function readXrVoipMetrics(buf: Uint8Array, offset: number, length: number, out: XrVoip): XrVoip | null {
  let at = offset + XR_HEADER_BYTES;
  const end = Math.min(buf.length, offset + length);
  for (let n = 0; n < MAX_XR_BLOCKS && at + 4 <= end; n++) {
    const bt = buf[at];
    const bytes = (readU16(buf, at + 2) + 1) * 4;
    if (bt === XR_VOIP_METRICS && bytes >= XR_VOIP_BLOCK_BYTES && at + XR_VOIP_BLOCK_BYTES <= end) {
      out.lossRate = buf[at + 8];
      out.roundTripMs = readU16(buf, at + 16);
      return out;
    }
    at += bytes;
  }
  return null;
}
