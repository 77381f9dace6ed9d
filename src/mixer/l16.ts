/**
 * L16 (RFC 3551 §4.5.11): uncompressed 16-bit signed samples in network byte
 * order. Mono only in the mixer; a multi-channel payload is down-mixed by
 * taking the first channel.
 */
import { readU16, writeU16 } from '../rtp/big-endian.js';

/** Decodes `length` bytes from `start` into `out` at `outOffset`; returns samples written. */
export function decodeL16(
  payload: Uint8Array,
  start: number,
  length: number,
  out: Int16Array,
  outOffset: number,
  channels = 1,
): number {
  const stride = 2 * channels;
  const samples = Math.floor(length / stride);
  for (let i = 0; i < samples; i++) {
    const p = start + i * stride;
    out[outOffset + i] = readU16(payload, p); // the Int16Array store makes it signed
  }
  return samples;
}

/** Encodes `count` samples into `out` at `offset` (mono); returns bytes written. */
export function encodeL16(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number {
  for (let i = 0; i < count; i++) {
    writeU16(out, offset + 2 * i, pcm[i]);
  }
  return 2 * count;
}
