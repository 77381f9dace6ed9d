/**
 * The keep-alive ports (SPEC §5, KEEPALIVE_PORTS): what a datagram is, and
 * the STUN Binding Success answer (RFC 5389 §7.3.1, XOR-MAPPED-ADDRESS). The
 * RFC 6263 RTP keep-alive is resolved and echoed by the core, which owns the
 * participants.
 */
import {
  parseStun,
  STUN_BINDING_REQUEST,
  STUN_HEADER_SIZE,
  StunMessage,
  stunBindingSuccessSize,
  writeStunBindingSuccess,
} from '../rtp/stun.js';
import { hasRtpFixedHeader, looksLikeStun } from '../rtp/packet-class.js';
import { ipv4ToNumber } from './ip-key.js';
import { ReflectorDrop } from './drop-reasons.js';

export type KeepaliveKind = 'stun' | 'rtp' | 'other';

export class KeepaliveResponder {
  readonly #msg = new StunMessage();
  /** Why the last stunAnswer() returned null (a StunDrop or a ReflectorDrop). */
  lastDrop: string = ReflectorDrop.KeepaliveMalformed;

  /**
   * Classifies by the first byte (RFC 7983 §7): 0–3 STUN, 128–191 RTP/RTCP
   * version 2 (at least a fixed RTP header), anything else other.
   */
  classify(buf: Buffer): KeepaliveKind {
    if (looksLikeStun(buf)) return 'stun';
    if (hasRtpFixedHeader(buf)) return 'rtp';
    return 'other';
  }

  /**
   * The Binding Success Response to a Binding Request from (ip, port), or null
   * with `lastDrop` set. The answer is a fresh buffer (it is handed to send();
   * STUN keep-alives come every few seconds, not at packet rate).
   */
  stunAnswer(buf: Buffer, ip: string, port: number): Buffer | null {
    const d = parseStun(buf, this.#msg);
    if (d !== null) {
      this.lastDrop = d;
      return null;
    }
    if (this.#msg.type !== STUN_BINDING_REQUEST || buf.length < STUN_HEADER_SIZE) {
      this.lastDrop = ReflectorDrop.KeepaliveUnknown;
      return null;
    }
    const family: 4 | 6 = ipv4ToNumber(ip) >= 0 ? 4 : 6;
    const out = Buffer.allocUnsafe(stunBindingSuccessSize(family));
    const n = writeStunBindingSuccess(buf, ip, port, family, out);
    if (n === 0) {
      this.lastDrop = ReflectorDrop.KeepaliveMalformed;
      return null;
    }
    return n === out.length ? out : out.subarray(0, n);
  }
}
