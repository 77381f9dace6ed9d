/**
 * Share and file passkeys (SPEC §8.1, §9.1): random 128-bit values, written as
 * lower-case hex in TCP lines and compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readU32 } from '../rtp/big-endian.js';

export const PASSKEY_BYTES = 16;
const PASSKEY_HEX = /^[0-9a-fA-F]{32}$/;

export function newPasskey(): Buffer {
  return randomBytes(PASSKEY_BYTES);
}

/** A random u32 id (SHARE_ID, FILE_ID) other than 0, not in `taken`. */
export function newId(taken: (id: number) => boolean): number {
  for (let i = 0; i < 64; i++) {
    const id = readU32(randomBytes(4), 0);
    if (id !== 0 && !taken(id)) return id;
  }
  throw new Error('no free id after 64 attempts');
}

/** Parses the hex of a TCP line; null when it is not exactly 32 hex digits. */
export function parsePasskeyHex(hex: string): Buffer | null {
  if (!PASSKEY_HEX.test(hex)) return null;
  return Buffer.from(hex, 'hex');
}

/** Constant-time comparison of a received passkey with the expected one. */
export function passkeyMatches(expected: Buffer, given: Buffer | null): boolean {
  if (given === null || given.length !== expected.length) return false;
  return timingSafeEqual(expected, given);
}
