/**
 * Network-order (big-endian) integers: the one way the wire code (src/rtp, src/srtp, src/mixer,
 * src/sip, src/interconnect, src/proxy) reads and writes them. Not Buffer's readUInt16BE /
 * readUInt32BE / write…BE, not DataView, not shifts written out at the call site: these functions.
 *
 * They take a plain Uint8Array (a Buffer is one), so the codecs that work on Uint8Array and those
 * that work on Buffer share them. No bounds checks and no exceptions: the callers check the length
 * before every read (STYLE.md, "A packet codec"). Writers store the value modulo 2^bits. None
 * allocates, except the u64 pair, which works on bigint (control paths only; the relay's SEQ on
 * the hot path is two u32 words).
 */

export function readU16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

export function readU24(buf: Uint8Array, at: number): number {
  return (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
}

export function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

export function readU64(buf: Uint8Array, at: number): bigint {
  return (BigInt(readU32(buf, at)) << 32n) | BigInt(readU32(buf, at + 4));
}

export function writeU16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

export function writeU24(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 16) & 0xff;
  buf[at + 1] = (v >>> 8) & 0xff;
  buf[at + 2] = v & 0xff;
}

export function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 24) & 0xff;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

export function writeU64(buf: Uint8Array, at: number, v: bigint): void {
  writeU32(buf, at, Number(BigInt.asUintN(32, v >> 32n)));
  writeU32(buf, at + 4, Number(BigInt.asUintN(32, v)));
}
