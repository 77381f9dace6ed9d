/**
 * SRTP key material (RFC 3711 §4.3, §8.2; RFC 4568 §6.1): the master key and
 * salt of one direction, the session keys derived from them with the AES-CM
 * PRF (key derivation rate 0, so derived once), and the AES-CM keystream
 * (§4.1.1). Pure functions over node:crypto; no I/O.
 */
import { readU16, readU32, writeU16, writeU32 } from '../rtp/big-endian.js';
import { createCipheriv, type Cipher } from 'node:crypto';

export const MASTER_KEY_LENGTH = 16;
export const MASTER_SALT_LENGTH = 14;
export const AUTH_KEY_LENGTH = 20;
const BLOCK = 16;

/** The crypto-suites the reflector speaks (RFC 4568 §6.2). */
export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';
export const SRTP_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** SRTP authentication tag length in bytes; SRTCP always uses 80 bits (RFC 4568 §6.2.2). */
export function rtpTagLength(suite: SrtpSuite): number {
  return suite === 'AES_CM_128_HMAC_SHA1_32' ? 4 : 10;
}
export const RTCP_TAG_LENGTH = 10;

/** One direction's SDES key (RFC 4568 key-params `inline:` plus the suite). */
export interface SrtpKey {
  readonly suite: SrtpSuite;
  /** 16 bytes. */
  readonly masterKey: Buffer;
  /** 14 bytes. */
  readonly masterSalt: Buffer;
  /** Packets this key may protect (RFC 4568 lifetime); default 2^48 for SRTP, 2^31 for SRTCP. */
  readonly lifetime?: number;
  /** Master Key Identifier carried in every packet (RFC 3711 §3.1), 1-4 bytes; absent = no MKI. */
  readonly mki?: Buffer;
}

export interface SessionKeys {
  readonly rtpKey: Buffer;
  readonly rtpSalt: Buffer;
  readonly rtpAuth: Buffer;
  readonly rtcpKey: Buffer;
  readonly rtcpSalt: Buffer;
  readonly rtcpAuth: Buffer;
}

/** RFC 3711 §4.3.3 labels. */
export const Label = { RtpEncryption: 0, RtpAuth: 1, RtpSalt: 2, RtcpEncryption: 3, RtcpAuth: 4, RtcpSalt: 5 } as const;

/**
 * AES-CM keystream of `length` bytes from a 16-byte IV (the counter's low 16 bits start at the IV's
 * and count blocks, RFC 3711 §4.1.1). Built by ECB-encrypting the counter blocks: one AES key
 * schedule per context, not per packet.
 */
export class AesCmKeystream {
  readonly #ecb: Cipher;
  /** Counter blocks, reused and grown on demand. */
  #blocks: Buffer = Buffer.alloc(BLOCK * 96);

  constructor(key: Buffer) {
    this.#ecb = createCipheriv('aes-128-ecb', key, null);
    this.#ecb.setAutoPadding(false);
  }

  /** The keystream for `length` bytes from `iv` (a new buffer, whole blocks). */
  generate(iv: Buffer, length: number): Buffer {
    const n = (length + BLOCK - 1) >>> 4;
    if (this.#blocks.length < n * BLOCK) this.#blocks = Buffer.alloc(n * BLOCK * 2);
    const b = this.#blocks;
    const low = readU16(iv, 14);
    for (let i = 0; i < n; i++) {
      const o = i * BLOCK;
      iv.copy(b, o, 0, 14);
      writeU16(b, o + 14, low + i);
      // A carry past 16 bits never happens: the IV's low 16 bits are 0 and packets are < 2^20 bytes.
    }
    return this.#ecb.update(b.subarray(0, n * BLOCK));
  }
}

/** RFC 3711 §4.3.1 with key_derivation_rate 0: x = (label || 0^48) XOR master_salt, output = AES-CM(master_key, x·2^16). */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(BLOCK);
  masterSalt.copy(iv, 0, 0, MASTER_SALT_LENGTH);
  iv[7] ^= label;
  const ks = new AesCmKeystream(masterKey).generate(iv, length);
  return Buffer.from(ks.subarray(0, length));
}

export function deriveSessionKeys(masterKey: Buffer, masterSalt: Buffer): SessionKeys {
  return {
    rtpKey: deriveKey(masterKey, masterSalt, Label.RtpEncryption, MASTER_KEY_LENGTH),
    rtpAuth: deriveKey(masterKey, masterSalt, Label.RtpAuth, AUTH_KEY_LENGTH),
    rtpSalt: deriveKey(masterKey, masterSalt, Label.RtpSalt, MASTER_SALT_LENGTH),
    rtcpKey: deriveKey(masterKey, masterSalt, Label.RtcpEncryption, MASTER_KEY_LENGTH),
    rtcpAuth: deriveKey(masterKey, masterSalt, Label.RtcpAuth, AUTH_KEY_LENGTH),
    rtcpSalt: deriveKey(masterKey, masterSalt, Label.RtcpSalt, MASTER_SALT_LENGTH),
  };
}

/**
 * IV = (session_salt·2^16) XOR (SSRC·2^64) XOR (index·2^16) (RFC 3711 §4.1.1), written into `out`.
 * `index` is the 48-bit packet index (SRTP) or the 31-bit SRTCP index.
 */
export function writeIv(out: Buffer, salt: Buffer, ssrc: number, index: number): void {
  salt.copy(out, 0, 0, MASTER_SALT_LENGTH);
  out[14] = 0;
  out[15] = 0;
  writeU32(out, 4, readU32(out, 4) ^ ssrc);
  // index occupies bytes 8..13 (48 bits), big-endian.
  writeU16(out, 8, readU16(out, 8) ^ Math.floor(index / 0x100000000));
  writeU32(out, 10, readU32(out, 10) ^ index);
}
