/**
 * The keep-alive ports (SPEC §5, KEEPALIVE_PORTS): what a datagram is, and
 * the STUN Binding Success answer (RFC 5389 §7.3.1, XOR-MAPPED-ADDRESS).
 * The RTP keep-alive (RFC 6263) is resolved and echoed by the core, which
 * owns the participants.
 */

export type KeepaliveKind = 'stun' | 'rtp' | 'other';

/** RFC 5389 §6: the magic cookie in bytes 4..7 of every STUN message. */
const STUN_MAGIC_COOKIE = 0x2112a442;
const STUN_HEADER_SIZE = 20;
const RTP_FIXED_HEADER_SIZE = 12;

export class KeepaliveResponder {
  /** Classifies without allocating: STUN (first two bits 0 and the magic cookie), RTP version 2, else other. */
  classify(buf: Buffer): KeepaliveKind {
    if (buf.length >= STUN_HEADER_SIZE && (buf[0] & 0xc0) === 0) {
      const cookie = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
      return cookie === STUN_MAGIC_COOKIE ? 'stun' : 'other';
    }
    if (buf.length >= RTP_FIXED_HEADER_SIZE && buf[0] >> 6 === 2) return 'rtp';
    return 'other';
  }

  /** The Binding Success Response to a Binding Request from (ip, port), or null when `buf` is not one. */
  stunAnswer(_buf: Buffer, _ip: string, _port: number): Buffer | null {
    // Wired to src/rtp/stun.ts (parseStun / writeStunBindingSuccess) when that codec lands.
    return null;
  }
}
