/**
 * Tone detection for audio interop tests: a Goertzel filter per 100 ms block;
 * a block "has" the tone when the tone carries at least `minShare` of the
 * block's energy and the block is not near-silent; the recording has the tone
 * when it does so for at least `minSeconds` of consecutive blocks.
 */
import { readWavS16Mono } from '../../tools/lib/media.js';

export interface ToneReport {
  readonly blocks: number;
  readonly toneBlocks: number;
  readonly longestRunBlocks: number;
  readonly rateHz: number;
}

/** Share (0..1) of the block's energy at `freqHz` (2|X(f)|² / (N·Σx²); 1 for a pure tone). */
export function goertzelShare(samples: ArrayLike<number>, start: number, n: number, freqHz: number, rateHz: number): { share: number; rms: number } {
  const k = Math.round((n * freqHz) / rateHz);
  const w = (2 * Math.PI * k) / n;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = samples[start + i] ?? 0;
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  const rms = Math.sqrt(energy / n);
  return { share: energy > 0 ? (2 * power) / (n * energy) : 0, rms };
}

export function analyseTone(samples: ArrayLike<number>, rateHz: number, freqHz: number, minShare = 0.5, minRms = 200): ToneReport {
  const n = Math.round(rateHz / 10);
  let blocks = 0;
  let toneBlocks = 0;
  let run = 0;
  let longest = 0;
  for (let start = 0; start + n <= samples.length; start += n) {
    blocks++;
    const g = goertzelShare(samples, start, n, freqHz, rateHz);
    if (g.share >= minShare && g.rms >= minRms) {
      toneBlocks++;
      run++;
      if (run > longest) longest = run;
    } else run = 0;
  }
  return { blocks, toneBlocks, longestRunBlocks: longest, rateHz };
}

/** True when `path` (WAV S16LE mono) carries `freqHz` for at least `minSeconds` without a gap. */
export function wavHasTone(path: string, freqHz: number, minSeconds = 1): { present: boolean; report: ToneReport } {
  const w = readWavS16Mono(path);
  const report = analyseTone(w.samples, w.rateHz, freqHz);
  return { present: report.longestRunBlocks >= minSeconds * 10, report };
}
