/**
 * SRTP/SRTCP termination (RFC 3711) for one direction of one participant's
 * stream: `SrtpInbound` authenticates, replay-checks and decrypts what the
 * participant sends (in place); `SrtpOutbound` encrypts and authenticates what
 * the reflector sends to it (into a new buffer: the plaintext is shared by the
 * other recipients). A master key serves every SSRC of the stream, each SSRC
 * with its own rollover counter (ROC) and replay window (§3.2.1, §3.3.1-2).
 *
 * Inbound failures return a drop reason (stable snake_case, a metric label);
 * nothing throws on untrusted input.
 */
import { readU16, readU32, writeU32 } from '../rtp/big-endian.js';
import { HmacSha1 } from './hmac-sha1.js';
import {
  AesCmKeystream, deriveSessionKeys, RTCP_TAG_LENGTH, rtpTagLength, writeIv,
  type SessionKeys, type SrtpKey,
} from './srtp-keys.js';

export const SrtpDrop = {
  TooShort: 'srtp_too_short',
  AuthFailed: 'srtp_auth_failed',
  Replay: 'srtp_replay',
  BadMki: 'srtp_unknown_mki',
  KeyExpired: 'srtp_key_expired',
  TooManySsrcs: 'srtp_too_many_ssrcs',
} as const;
export type SrtpDrop = (typeof SrtpDrop)[keyof typeof SrtpDrop];

/** Replay window (RFC 3711 §3.3.2 asks for at least 64). */
export const REPLAY_WINDOW = 128;
/** SSRCs tracked per key and direction; more are refused (inbound) or evict the oldest (outbound). */
export const MAX_SSRCS = 32;
const RTP_HEADER = 12;
const RTCP_HEADER = 8;
const MAX_SRTP_INDEX = 2 ** 48;
const MAX_SRTCP_INDEX = 0x7fffffff;

/** Per-SSRC replay state: the highest index seen and a ring of recently seen indices. */
class ReplayState {
  maxIndex = -1;
  readonly seen = new Float64Array(REPLAY_WINDOW).fill(-1);

  /** True when `index` may still be accepted (not too old, not seen). */
  fresh(index: number): boolean {
    if (index > this.maxIndex) return true;
    if (index <= this.maxIndex - REPLAY_WINDOW) return false;
    return this.seen[index % REPLAY_WINDOW] !== index;
  }

  accept(index: number): void {
    this.seen[index % REPLAY_WINDOW] = index;
    if (index > this.maxIndex) this.maxIndex = index;
  }
}

/** RFC 3711 §3.3.1 / Appendix A: the packet index of `seq` given the highest index seen (-1 = none). */
export function estimateIndex(maxIndex: number, seq: number): number {
  if (maxIndex < 0) return seq;
  const roc = Math.floor(maxIndex / 65536);
  const sl = maxIndex % 65536;
  let v = roc;
  if (sl < 32768) {
    if (seq - sl > 32768) v = roc - 1;
  } else if (sl - 32768 > seq) {
    v = roc + 1;
  }
  return v * 65536 + seq;
}

/** Constant-time comparison of `n` bytes. */
function tagEqual(a: Buffer, aOff: number, b: Buffer, n: number): boolean {
  let d = 0;
  for (let i = 0; i < n; i++) d |= a[aOff + i] ^ b[i];
  return d === 0;
}

class Direction {
  readonly keys: SessionKeys;
  readonly rtpStream: AesCmKeystream;
  readonly rtcpStream: AesCmKeystream;
  readonly rtpTag: number;
  readonly mki: Buffer | null;
  readonly rtpLifetime: number;
  readonly rtcpLifetime: number;
  rtpPackets = 0;
  rtcpPackets = 0;
  readonly iv = Buffer.alloc(16);
  readonly rtpHmac: HmacSha1;
  readonly rtcpHmac: HmacSha1;
  /** The computed tag of the packet being checked. */
  readonly tag = Buffer.alloc(20);

  constructor(key: SrtpKey) {
    this.keys = deriveSessionKeys(key.masterKey, key.masterSalt);
    this.rtpStream = new AesCmKeystream(this.keys.rtpKey);
    this.rtcpStream = new AesCmKeystream(this.keys.rtcpKey);
    this.rtpHmac = new HmacSha1(this.keys.rtpAuth);
    this.rtcpHmac = new HmacSha1(this.keys.rtcpAuth);
    this.rtpTag = rtpTagLength(key.suite);
    this.mki = key.mki !== undefined && key.mki.length > 0 ? key.mki : null;
    this.rtpLifetime = Math.min(key.lifetime ?? MAX_SRTP_INDEX, MAX_SRTP_INDEX);
    this.rtcpLifetime = Math.min(key.lifetime ?? MAX_SRTCP_INDEX, MAX_SRTCP_INDEX);
  }

  get mkiLength(): number {
    return this.mki === null ? 0 : this.mki.length;
  }

  /** SRTP tag (RFC 3711 §4.2): HMAC-SHA1 over m[0,end) || ROC, `n` bytes into out[at]. */
  rtpMac(m: Buffer, end: number, index: number, out: Buffer, at: number, n: number): void {
    this.rtpHmac.mac(m, 0, end, Math.floor(index / 65536) >>> 0, out, at, n);
  }

  /** SRTCP tag: HMAC-SHA1 over m[0,end) (which ends with E||index). */
  rtcpMac(m: Buffer, end: number, out: Buffer, at: number, n: number): void {
    this.rtcpHmac.mac(m, 0, end, -1, out, at, n);
  }
}

/** RTP header length including CSRCs and extension, or -1 when it overruns `len`. */
function rtpHeaderLength(buf: Buffer, len: number): number {
  let h = RTP_HEADER + (buf[0] & 0x0f) * 4;
  if ((buf[0] & 0x10) !== 0) {
    if (len < h + 4) return -1;
    h += 4 + readU16(buf, h + 2) * 4;
  }
  return h <= len ? h : -1;
}

export class SrtpInbound {
  readonly #d: Direction;
  readonly #rtp = new Map<number, ReplayState>();
  readonly #rtcp = new Map<number, ReplayState>();
  /** Why the last call returned null. */
  lastDrop: SrtpDrop = SrtpDrop.AuthFailed;

  constructor(key: SrtpKey) {
    this.#d = new Direction(key);
  }

  /**
   * Authenticates and decrypts an SRTP packet in place; returns the plain RTP packet (a view of
   * `buf` without MKI and tag) or null (see lastDrop).
   */
  unprotectRtp(buf: Buffer): Buffer | null {
    const d = this.#d;
    const trailer = d.rtpTag + d.mkiLength;
    const len = buf.length - trailer;
    if (len < RTP_HEADER) return this.#fail(SrtpDrop.TooShort);
    const h = rtpHeaderLength(buf, len);
    if (h < 0) return this.#fail(SrtpDrop.TooShort);
    if (d.mki !== null && !tagEqual(buf, len, d.mki, d.mki.length)) return this.#fail(SrtpDrop.BadMki);
    const ssrc = readU32(buf, 8);
    const seq = readU16(buf, 2);
    const st = this.#rtp.get(ssrc);
    const index = estimateIndex(st === undefined ? -1 : st.maxIndex, seq);
    if (index < 0 || (st !== undefined && !st.fresh(index))) return this.#fail(SrtpDrop.Replay);
    d.rtpMac(buf, len, index, d.tag, 0, d.rtpTag);
    if (!tagEqual(buf, len + d.mkiLength, d.tag, d.rtpTag)) return this.#fail(SrtpDrop.AuthFailed);
    if (d.rtpPackets >= d.rtpLifetime) return this.#fail(SrtpDrop.KeyExpired);
    let state = st;
    if (state === undefined) {
      if (this.#rtp.size >= MAX_SSRCS) return this.#fail(SrtpDrop.TooManySsrcs);
      state = new ReplayState();
      this.#rtp.set(ssrc, state);
    }
    state.accept(index);
    d.rtpPackets++;
    if (len > h) {
      writeIv(d.iv, d.keys.rtpSalt, ssrc, index);
      const ks = d.rtpStream.generate(d.iv, len - h);
      for (let i = h, k = 0; i < len; i++, k++) buf[i] ^= ks[k];
    }
    return buf.subarray(0, len);
  }

  /** Authenticates, replay-checks and decrypts an SRTCP packet in place (RFC 3711 §3.4). */
  unprotectRtcp(buf: Buffer): Buffer | null {
    const d = this.#d;
    const end = buf.length - RTCP_TAG_LENGTH - d.mkiLength; // end of E||index
    const len = end - 4;
    if (len < RTCP_HEADER) return this.#fail(SrtpDrop.TooShort);
    if (d.mki !== null && !tagEqual(buf, end, d.mki, d.mki.length)) return this.#fail(SrtpDrop.BadMki);
    const word = readU32(buf, len);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & 0x7fffffff;
    const ssrc = readU32(buf, 4);
    const st = this.#rtcp.get(ssrc);
    if (st !== undefined && !st.fresh(index)) return this.#fail(SrtpDrop.Replay);
    d.rtcpMac(buf, end, d.tag, 0, RTCP_TAG_LENGTH);
    if (!tagEqual(buf, end + d.mkiLength, d.tag, RTCP_TAG_LENGTH)) return this.#fail(SrtpDrop.AuthFailed);
    if (d.rtcpPackets >= d.rtcpLifetime) return this.#fail(SrtpDrop.KeyExpired);
    let state = st;
    if (state === undefined) {
      if (this.#rtcp.size >= MAX_SSRCS) return this.#fail(SrtpDrop.TooManySsrcs);
      state = new ReplayState();
      this.#rtcp.set(ssrc, state);
    }
    state.accept(index);
    d.rtcpPackets++;
    if (encrypted && len > RTCP_HEADER) {
      writeIv(d.iv, d.keys.rtcpSalt, ssrc, index);
      const ks = d.rtcpStream.generate(d.iv, len - RTCP_HEADER);
      for (let i = RTCP_HEADER, k = 0; i < len; i++, k++) buf[i] ^= ks[k];
    }
    return buf.subarray(0, len);
  }

  #fail(reason: SrtpDrop): null {
    this.lastDrop = reason;
    return null;
  }
}

/** Sender state per SSRC: the highest RTP index sent (ROC estimate for forwarded sequence numbers) and the SRTCP index. */
class SendState {
  maxIndex = -1;
  rtcpIndex = 0;
  lastUse = 0;
}

export class SrtpOutbound {
  readonly #d: Direction;
  readonly #ssrcs = new Map<number, SendState>();
  #tick = 0;
  /** Packets not sent because the key's lifetime is used up. */
  expired = 0;
  /**
   * Per-datagram share cache (see docs/architecture.md "SRTP"): recipients that use this very
   * context and PT numbering within one fan-out get the same protected bytes.
   */
  cacheGen = 0;
  cachePt = -1;
  cacheOut: Buffer | null = null;

  constructor(key: SrtpKey) {
    this.#d = new Direction(key);
  }

  #state(ssrc: number): SendState {
    let s = this.#ssrcs.get(ssrc);
    if (s === undefined) {
      if (this.#ssrcs.size >= MAX_SSRCS) {
        let oldKey = -1;
        let oldUse = Infinity;
        for (const [k, v] of this.#ssrcs) if (v.lastUse < oldUse) { oldUse = v.lastUse; oldKey = k; }
        this.#ssrcs.delete(oldKey);
      }
      s = new SendState();
      this.#ssrcs.set(ssrc, s);
    }
    s.lastUse = ++this.#tick;
    return s;
  }

  /** SRTP of a plain RTP packet (a new buffer), or null when the key's lifetime is used up. */
  protectRtp(plain: Buffer): Buffer | null {
    const d = this.#d;
    const len = plain.length;
    if (len < RTP_HEADER) return null;
    const h = rtpHeaderLength(plain, len);
    if (h < 0) return null;
    if (d.rtpPackets >= d.rtpLifetime) {
      this.expired++;
      return null;
    }
    d.rtpPackets++;
    const ssrc = readU32(plain, 8);
    const seq = readU16(plain, 2);
    const st = this.#state(ssrc);
    let index = estimateIndex(st.maxIndex, seq);
    if (index < 0) index = seq;
    if (index > st.maxIndex) st.maxIndex = index;
    const mkiLen = d.mkiLength;
    const out = Buffer.allocUnsafe(len + mkiLen + d.rtpTag);
    plain.copy(out, 0, 0, h);
    if (len > h) {
      writeIv(d.iv, d.keys.rtpSalt, ssrc, index);
      const ks = d.rtpStream.generate(d.iv, len - h);
      for (let i = h, k = 0; i < len; i++, k++) out[i] = plain[i] ^ ks[k];
    }
    if (d.mki !== null) d.mki.copy(out, len);
    d.rtpMac(out, len, index, out, len + mkiLen, d.rtpTag);
    return out;
  }

  /** SRTCP of a plain RTCP compound (a new buffer, encrypted, E=1), or null when the key is used up. */
  protectRtcp(plain: Buffer): Buffer | null {
    const d = this.#d;
    const len = plain.length;
    if (len < RTCP_HEADER) return null;
    if (d.rtcpPackets >= d.rtcpLifetime) {
      this.expired++;
      return null;
    }
    d.rtcpPackets++;
    const ssrc = readU32(plain, 4);
    const st = this.#state(ssrc);
    const index = st.rtcpIndex;
    st.rtcpIndex = (st.rtcpIndex + 1) & 0x7fffffff;
    const mkiLen = d.mkiLength;
    const out = Buffer.allocUnsafe(len + 4 + mkiLen + RTCP_TAG_LENGTH);
    plain.copy(out, 0, 0, RTCP_HEADER);
    writeIv(d.iv, d.keys.rtcpSalt, ssrc, index);
    const ks = d.rtcpStream.generate(d.iv, len - RTCP_HEADER);
    for (let i = RTCP_HEADER, k = 0; i < len; i++, k++) out[i] = plain[i] ^ ks[k];
    writeU32(out, len, 0x80000000 | index);
    if (d.mki !== null) d.mki.copy(out, len + 4);
    d.rtcpMac(out, len + 4, out, len + 4 + mkiLen, RTCP_TAG_LENGTH);
    return out;
  }
}
