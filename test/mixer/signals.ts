/** Deterministic test signals for the mixer tests (no randomness between runs). */
import { xorshift32 } from '../helpers/prng.js';

/** A sine of `freqHz` at `rateHz`, `amplitude` peak, starting at phase 0. */
export function sine(freqHz: number, amplitude: number, samples: number, rateHz: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freqHz * i) / rateHz));
  return out;
}

/** Deterministic white noise (xorshift32), uniform in ±amplitude. */
export function noise(amplitude: number, samples: number, seed = 0x12345678): Int16Array {
  const out = new Int16Array(samples);
  const next = xorshift32(seed);
  for (let i = 0; i < samples; i++) out[i] = Math.round(((next() / 0xffffffff) * 2 - 1) * amplitude);
  return out;
}

/**
 * The input of the G.722 golden vectors (fixtures/g722-*.bin): 0.5 s at 16 kHz of a
 * 100 Hz → 7 kHz chirp plus noise, with a clipped full-scale burst in the middle.
 */
export function g722GoldenInput(): Int16Array {
  const n = 8000;
  const out = new Int16Array(n);
  const hiss = noise(3000, n, 0xc0ffee);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const f = 100 + (6900 * i) / n;
    phase += (2 * Math.PI * f) / 16000;
    const gain = i >= 3000 && i < 3400 ? 40000 : 9000;
    const v = gain * Math.sin(phase) + hiss[i];
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

/** Amplitude of `freqHz` in `pcm[start, start+length)` by the Goertzel algorithm (peak units). */
export function toneAmplitude(pcm: Int16Array, start: number, length: number, freqHz: number, rateHz: number): number {
  const w = (2 * Math.PI * freqHz) / rateHz;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < length; i++) {
    const s0 = pcm[start + i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(power, 0))) / length;
}
