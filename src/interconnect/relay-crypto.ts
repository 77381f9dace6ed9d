/**
 * The protected relay (docs/protocol.md, "Protected relay"): with a secret,
 * relay datagrams are AES-256-GCM sealed, one key per direction derived with
 * HKDF-SHA256 from the secret and bound to both reflectors' NODE_IDs and
 * BOOT_EPOCHs; the nonce is a 64-bit per-key packet counter (SEQ) that is also
 * in the clear header, and the receiver keeps a replay window over SEQ.
 *
 * Cost per datagram with node:crypto: one cipher object (GCM cipher objects
 * are one-shot in node:crypto; the key is a prepared KeyObject and the nonce
 * buffer is reused), the ciphertext and the tag. Figures: docs/performance.md.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { readU32, writeU32, writeU64 } from '../rtp/big-endian.js';

export const RELAY_AEAD = 'aes-256-gcm';
export const RELAY_TAG_SIZE = 16;
export const RELAY_NONCE_SIZE = 12;
export const RELAY_KEY_SIZE = 32;
/** HKDF salt (fixed, public). */
export const RELAY_HKDF_SALT = 'rtp-reflector protected relay v3';
/** HKDF info prefix; the NODE_IDs and BOOT_EPOCHs follow. */
export const RELAY_HKDF_LABEL = 'rflx relay';
/** Replay window over SEQ per receive key. */
export const RELAY_REPLAY_WINDOW = 1024;
/** SEQ is u64 on the wire; we stop (new BOOT_EPOCH) long before 2^53. */
export const RELAY_SEQ_LIMIT = 2 ** 52;

/**
 * Key for datagrams from (senderNode, senderEpoch) to (receiverNode, receiverEpoch):
 * HKDF-SHA256(IKM = secret as UTF-8, salt = RELAY_HKDF_SALT,
 *   info = "rflx relay" ‖ sender NODE_ID u32 ‖ sender BOOT_EPOCH u64 ‖ receiver NODE_ID u32 ‖ receiver BOOT_EPOCH u64, L = 32).
 */
export function deriveRelayKey(secret: string, senderNode: number, senderEpoch: bigint, receiverNode: number, receiverEpoch: bigint): KeyObject {
  const label = Buffer.from(RELAY_HKDF_LABEL, 'ascii');
  const info = Buffer.alloc(label.length + 24);
  label.copy(info, 0);
  let at = label.length;
  writeU32(info, at, senderNode); at += 4;
  writeU64(info, at, senderEpoch); at += 8;
  writeU32(info, at, receiverNode); at += 4;
  writeU64(info, at, receiverEpoch);
  const key = hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from(RELAY_HKDF_SALT, 'ascii'), info, RELAY_KEY_SIZE);
  return createSecretKey(Buffer.from(key));
}

/** Writes SEQ (a safe integer) as u64 big-endian. */
export function writeSeq64(out: Uint8Array, at: number, seq: number): void {
  writeU32(out, at, Math.floor(seq / 0x1_0000_0000));
  writeU32(out, at + 4, seq);
}

/** Reads a u64 big-endian SEQ; values at or above 2^53 come back as -1 (never valid). */
export function readSeq64(buf: Uint8Array, at: number): number {
  const hi = readU32(buf, at);
  const lo = readU32(buf, at + 4);
  if (hi >= 0x20_0000) return -1;
  return hi * 0x1_0000_0000 + lo;
}

/** Sending half: key + counter. */
export class RelaySealer {
  readonly key: KeyObject;
  /** Last SEQ used (the next datagram gets seq + 1). */
  seq = 0;
  readonly #nonce = Buffer.alloc(RELAY_NONCE_SIZE);

  constructor(key: KeyObject) {
    this.key = key;
  }

  /** The next SEQ, or -1 when the key is used up (a new BOOT_EPOCH is needed). */
  next(): number {
    if (this.seq >= RELAY_SEQ_LIMIT) return -1;
    return ++this.seq;
  }

  /**
   * Seals `plain` with `aad` (the clear header, SEQ at aad[seqAt..seqAt+8)) for `seq`.
   * Returns [ciphertext, tag]; both new buffers (node:crypto has no in-place GCM).
   */
  seal(seq: number, aad: Buffer, plain: Buffer): [Buffer, Buffer] {
    writeSeq64(this.#nonce, 4, seq);
    const c = createCipheriv(RELAY_AEAD, this.key, this.#nonce, { authTagLength: RELAY_TAG_SIZE });
    c.setAAD(aad);
    const ct = c.update(plain);
    c.final(); // GCM: no output
    return [ct, c.getAuthTag()];
  }
}

/** Receiving half: key + replay window. */
export class RelayOpener {
  readonly key: KeyObject;
  readonly #nonce = Buffer.alloc(RELAY_NONCE_SIZE);
  #top = 0;
  /** Bit (seq % window) set: seen. */
  readonly #bits = new Uint32Array(RELAY_REPLAY_WINDOW / 32);

  constructor(key: KeyObject) {
    this.key = key;
  }

  /** True when `seq` is new and inside the window (checked before and recorded after authentication). */
  fresh(seq: number): boolean {
    if (seq <= 0) return false;
    if (seq > this.#top) return true;
    if (this.#top - seq >= RELAY_REPLAY_WINDOW) return false;
    const i = seq % RELAY_REPLAY_WINDOW;
    return (this.#bits[i >>> 5] & (1 << (i & 31))) === 0;
  }

  /** Records an authenticated `seq` (call only after fresh() and open() succeeded). */
  accept(seq: number): void {
    if (seq > this.#top) {
      const shift = seq - this.#top;
      if (shift >= RELAY_REPLAY_WINDOW) {
        this.#bits.fill(0);
      } else {
        for (let s = this.#top + 1; s < seq; s++) {
          const j = s % RELAY_REPLAY_WINDOW;
          this.#bits[j >>> 5] &= ~(1 << (j & 31));
        }
      }
      this.#top = seq;
    }
    const i = seq % RELAY_REPLAY_WINDOW;
    this.#bits[i >>> 5] |= 1 << (i & 31);
  }

  /** Opens ciphertext+tag with `aad`; null when authentication fails. */
  open(seq: number, aad: Buffer, ct: Buffer, tag: Buffer): Buffer | null {
    writeSeq64(this.#nonce, 4, seq);
    try {
      const d = createDecipheriv(RELAY_AEAD, this.key, this.#nonce, { authTagLength: RELAY_TAG_SIZE });
      d.setAAD(aad);
      d.setAuthTag(tag);
      const plain = d.update(ct);
      d.final(); // throws when the tag does not match
      return plain;
    } catch {
      return null;
    }
  }
}
