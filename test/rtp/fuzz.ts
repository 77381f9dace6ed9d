/**
 * Seeded input generator for the "random input never throws" tests of the
 * codecs: random buffers, truncations and bit flips of valid packets.
 */
import { prng } from '../helpers/prng.js';

/**
 * Calls `check` with `count` buffers derived from `seeds` (valid packets) and
 * pure noise: a third random bytes, a third truncated seeds, a third seeds with
 * 1–4 flipped bits (sometimes also truncated or extended).
 */
export function forEachFuzzInput(seed: number, count: number, seeds: readonly Buffer[], check: (buf: Buffer) => void): void {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  for (let i = 0; i < count; i++) {
    let buf: Buffer;
    const kind = i % 3;
    if (kind === 0 || seeds.length === 0) {
      buf = Buffer.alloc(int(96));
      for (let j = 0; j < buf.length; j++) buf[j] = int(256);
      // Give half of the noise a plausible first byte so parsers get past the version check.
      if (buf.length > 0 && rnd() < 0.5) buf[0] = 0x80 | (buf[0] & 0x3f);
    } else {
      const base = seeds[int(seeds.length)];
      if (kind === 1) {
        buf = Buffer.from(base.subarray(0, int(base.length + 1)));
      } else {
        buf = Buffer.from(base);
        const flips = 1 + int(4);
        for (let f = 0; f < flips && buf.length > 0; f++) buf[int(buf.length)] ^= 1 << int(8);
        const r = rnd();
        if (r < 0.2) buf = buf.subarray(0, int(buf.length + 1));
        else if (r < 0.3) buf = Buffer.concat([buf, Buffer.from([int(256), int(256), int(256), int(256)])]);
      }
    }
    check(buf);
  }
}

export const FUZZ_COUNT = 20_000;
