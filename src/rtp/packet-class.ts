/**
 * What a datagram on a media port is, and the few RTP header fields read or
 * rewritten in place without a full parse (RFC 7983 §7, RFC 3550 §5.1).
 *
 *     first byte (RFC 7983 §7)     second byte of V=2 (RFC 5761 §4)
 *       0 –   3  STUN                192 – 223  RTCP packet type
 *      20 –  63  DTLS                otherwise  RTP: M bit | PT
 *     128 – 191  RTP / RTCP (V=2)
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
 *
 * Every function here is small, allocation-free and never throws; the RTCP
 * demultiplexer is looksLikeRtcp() in rtcp-compound.ts, the PT rewrite is
 * rewriteRtpPayloadType() in rtp-header.ts.
 */
import { readU32 } from './big-endian.js';
import { RTP_FIXED_HEADER_SIZE, RTP_PT_MASK, RTP_VERSION, RTP_VERSION_SHIFT } from './rtp-header.js';

/** RFC 7983 §7: the highest first byte of a STUN message. */
const STUN_FIRST_BYTE_MAX = 3;
const OFFSET_B1 = 1;
const OFFSET_SSRC = 8;

/** RFC 7983 §7: the first byte is 0–3, i.e. the datagram is STUN (an ICE check, a keep-alive). */
export function looksLikeStun(buf: Uint8Array): boolean {
  return buf.length > 0 && buf[0] <= STUN_FIRST_BYTE_MAX;
}

/** The version field of the first byte is 2 (RTP and RTCP alike, RFC 3550 §5.1, §6.4.1). */
export function isVersion2(buf: Uint8Array): boolean {
  return buf.length > 0 && buf[0] >> RTP_VERSION_SHIFT === RTP_VERSION;
}

/** At least an RTP fixed header (12 bytes) with V=2: its PT and SSRC may be read. */
export function hasRtpFixedHeader(buf: Uint8Array): boolean {
  return buf.length >= RTP_FIXED_HEADER_SIZE && buf[0] >> RTP_VERSION_SHIFT === RTP_VERSION;
}

/** The payload type of an RTP packet (at least 2 bytes; the caller checks). */
export function rtpPayloadType(buf: Uint8Array): number {
  return buf[OFFSET_B1] & RTP_PT_MASK;
}

/** The second byte of an RTP packet as it is: marker bit and payload type (at least 2 bytes). */
export function rtpMarkerAndPayloadType(buf: Uint8Array): number {
  return buf[OFFSET_B1];
}

/** The SSRC of an RTP packet, or -1 when `buf` has no V=2 fixed header. */
export function rtpSsrc(buf: Uint8Array): number {
  return hasRtpFixedHeader(buf) ? readU32(buf, OFFSET_SSRC) : -1;
}
