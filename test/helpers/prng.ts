/**
 * The tests' seeded pseudo-random generators, in one place. Deterministic, so a failing case is
 * replayed from its seed. `prng` is the one to use in new tests; the others are kept because tests
 * and golden fixtures depend on the exact numbers they produce (the G.722 vectors were generated from
 * `xorshift32` noise, for instance).
 */

/** mulberry32: uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Marsaglia's xorshift32 (13, 17, 5): each call returns the next state, an unsigned 32-bit integer.
 * A zero seed yields zeros forever; callers that may pass 0 substitute a non-zero seed.
 */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * The Lehmer / Park-Miller "minimal standard" generator (multiplier 48271, modulus 2^31 - 1): each
 * call returns the next state divided by the modulus, in (0, 1) for seeds in 1 .. 2^31 - 2.
 */
export function minstd(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 48271) % 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/**
 * The C library's LCG constants (s = (1103515245 · s + 12345) & 0x7fffffff), scaled to [0, 1].
 * Computed in doubles: once the product passes 2^53 it rounds, so this is not the C sequence, only a
 * fixed and reproducible one (the numbers sip/framing.test.ts was written against).
 */
export function lcg31(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}
