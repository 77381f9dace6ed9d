/**
 * Mix-minus (SPEC §13): every input is added once into a 32-bit sum; each
 * mixed participant then gets the sum minus its own contribution, saturated to
 * 16 bits (never wrapped). The cost is O(inputs + outputs) per frame instead of
 * O(inputs × outputs).
 */

/** Clears the first `count` samples of the sum. */
export function clearSum(sum: Int32Array, count: number): void {
  sum.fill(0, 0, count);
}

/** Adds `count` samples of `frame` into `sum`. */
export function addToSum(sum: Int32Array, frame: Int16Array, count: number): void {
  for (let i = 0; i < count; i++) sum[i] += frame[i];
}

/**
 * Writes sum − own (own = null: the whole sum) into `out`, saturated to Int16.
 * Returns the peak absolute value written (for level metering).
 */
export function mixMinus(sum: Int32Array, own: Int16Array | null, count: number, out: Int16Array): number {
  let peak = 0;
  if (own === null) {
    for (let i = 0; i < count; i++) {
      const v = sum[i];
      const c = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      out[i] = c;
      const a = c < 0 ? -c : c;
      if (a > peak) peak = a;
    }
  } else {
    for (let i = 0; i < count; i++) {
      const v = sum[i] - own[i];
      const c = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      out[i] = c;
      const a = c < 0 ? -c : c;
      if (a > peak) peak = a;
    }
  }
  return peak;
}
