/**
 * HMAC-SHA1 (RFC 2104, FIPS 180-4) for SRTP authentication tags, without an
 * allocation per packet: the key's inner and outer pads are hashed once
 * (mid-states), each tag costs the message's blocks plus one outer block, and
 * the tag is written straight into the caller's buffer. node:crypto's
 * createHmac costs an object (and a key import) per packet, which measured
 * about 3 µs of the ~4 µs an SRTP packet cost; see docs/performance.md.
 * Checked against RFC 2202's test cases and node:crypto in test/srtp.
 */
import { readU32, writeU16, writeU32 } from '../rtp/big-endian.js';

const W = new Int32Array(80);

/** Processes the 64-byte block at `buf[off]` into state `h` (5 words). */
function block(h: Int32Array, buf: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = readU32(buf, j);
  }
  for (let i = 16; i < 80; i++) {
    const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
    W[i] = (x << 1) | (x >>> 31);
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (let i = 0; i < 80; i++) {
    let f: number;
    let k: number;
    if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc | 0; }
    else { f = b ^ c ^ d; k = 0xca62c1d6 | 0; }
    const t = (((a << 5) | (a >>> 27)) + f + e + k + W[i]) | 0;
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
  }
  h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0; h[4] = (h[4] + e) | 0;
}

const IV = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];

export class HmacSha1 {
  readonly #inner = new Int32Array(5);
  readonly #outer = new Int32Array(5);
  readonly #h = new Int32Array(5);
  #scratch = new Uint8Array(2048);
  readonly #outerBlock = new Uint8Array(64);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) {
      const d = new HmacSha1(new Uint8Array(0));
      k = d.#hash(key, 0, key.length);
    }
    const pad = new Uint8Array(64);
    for (const [state, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
      state.set(IV);
      block(state, pad, 0);
    }
  }

  /** Plain SHA-1 (only for keys longer than a block). */
  #hash(data: Uint8Array, start: number, end: number): Uint8Array {
    this.#h.set(IV);
    this.#finish(this.#h, data, start, end, -1, 0);
    const out = new Uint8Array(20);
    for (let i = 0; i < 5; i++) writeU32(out, i * 4, this.#h[i]);
    return out;
  }

  /** Hashes data[start,end) (+ the 32-bit `tail` when tail >= 0) with padding; `prefix` bytes were hashed before. */
  #finish(h: Int32Array, data: Uint8Array, start: number, end: number, tail: number, prefix: number): void {
    const len = end - start + (tail >= 0 ? 4 : 0);
    const padded = ((len + 8) >>> 6) * 64 + 64;
    if (this.#scratch.length < padded) this.#scratch = new Uint8Array(padded * 2);
    const s = this.#scratch;
    s.set(data.subarray(start, end), 0);
    let n = end - start;
    if (tail >= 0) { writeU32(s, n, tail); n += 4; }
    s[n++] = 0x80;
    while (n < padded - 8) s[n++] = 0;
    const bits = (len + prefix) * 8;
    writeU32(s, n, Math.floor(bits / 0x100000000));
    writeU32(s, n + 4, bits);
    for (let off = 0; off < padded; off += 64) block(h, s, off);
  }

  /**
   * HMAC-SHA1 of data[start,end) followed by the big-endian 32-bit `tail` (the SRTP ROC; pass -1
   * for none); the first `outLen` bytes of the tag are written to out[outOff...].
   */
  mac(data: Uint8Array, start: number, end: number, tail: number, out: Uint8Array, outOff: number, outLen: number): void {
    const h = this.#h;
    h.set(this.#inner);
    this.#finish(h, data, start, end, tail, 64);
    const ob = this.#outerBlock;
    for (let i = 0; i < 5; i++) writeU32(ob, i * 4, h[i]);
    ob[20] = 0x80;
    ob.fill(0, 21, 62);
    writeU16(ob, 62, 84 * 8); // 64 + 20 bytes = 672 bits
    h.set(this.#outer);
    block(h, ob, 0);
    // The outer block is spent: reuse its first 20 bytes for the tag.
    for (let i = 0; i < 5; i++) writeU32(ob, i * 4, h[i]);
    for (let i = 0; i < outLen; i++) out[outOff + i] = ob[i];
  }
}
