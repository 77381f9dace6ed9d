import { expect } from 'chai';
import { Resampler } from '../../src/mixer/resample.js';
import { sine, toneAmplitude } from './signals.js';

const AMPLITUDE = 10000;

/** Feeds `seconds` of a tone through in 20 ms frames; returns the output. */
function convert(inRate: number, outRate: number, freqHz: number, seconds = 0.5): Int16Array {
  const rs = new Resampler(inRate, outRate);
  const input = sine(freqHz, AMPLITUDE, Math.round(inRate * seconds), inRate);
  const frameIn = inRate / 50;
  const out = new Int16Array(Math.round(outRate * seconds) + 16);
  let o = 0;
  for (let off = 0; off + frameIn <= input.length; off += frameIn) {
    const n = rs.process(input.subarray(off, off + frameIn), frameIn, out, o);
    expect(n).to.equal(outRate / 50); // exactly one output frame per input frame
    o += n;
  }
  return out.subarray(0, o);
}

function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}

/** RMS of the output after the filter has settled, in dB relative to the input tone's RMS. */
function levelDb(out: Int16Array, skip: number): number {
  let sum = 0;
  for (let i = skip; i < out.length; i++) sum += out[i] * out[i];
  const rms = Math.sqrt(sum / (out.length - skip));
  return db(rms / (AMPLITUDE / Math.SQRT2));
}

const PAIRS: Array<[number, number]> = [
  [8000, 16000],
  [16000, 8000],
  [16000, 48000],
  [48000, 16000],
  [8000, 48000],
  [48000, 8000],
];

describe('mixer/resample', () => {
  for (const [inRate, outRate] of PAIRS) {
    const low = Math.min(inRate, outRate);
    describe(`${inRate} → ${outRate} Hz`, () => {
      for (const fraction of [0.05, 0.2, 0.375]) {
        const f = Math.round(low * fraction);
        it(`passes ${f} Hz within ±1 dB`, () => {
          const out = convert(inRate, outRate, f);
          const skip = Math.round(outRate * 0.05);
          const amp = toneAmplitude(out, skip, out.length - skip, f, outRate);
          expect(Math.abs(db(amp / AMPLITUDE))).to.be.below(1);
        });
      }

      if (outRate < inRate) {
        for (const fraction of [0.6, 0.75, 0.9]) {
          const f = Math.round(low * fraction);
          it(`attenuates ${f} Hz (above the new Nyquist) by at least 40 dB`, () => {
            const out = convert(inRate, outRate, f);
            expect(levelDb(out, Math.round(outRate * 0.05))).to.be.below(-40);
          });
        }
      } else {
        it('suppresses the images of an up-sampled tone by at least 40 dB', () => {
          const f = Math.round(low * 0.25);
          const out = convert(inRate, outRate, f);
          const skip = Math.round(outRate * 0.05);
          const wanted = toneAmplitude(out, skip, out.length - skip, f, outRate);
          // Remove the wanted tone (least squares) and measure what is left.
          const n = out.length - skip;
          let c = 0;
          let s = 0;
          for (let i = 0; i < n; i++) {
            const w = (2 * Math.PI * f * (skip + i)) / outRate;
            c += out[skip + i] * Math.cos(w);
            s += out[skip + i] * Math.sin(w);
          }
          c = (2 * c) / n;
          s = (2 * s) / n;
          let residual = 0;
          for (let i = 0; i < n; i++) {
            const w = (2 * Math.PI * f * (skip + i)) / outRate;
            const e = out[skip + i] - c * Math.cos(w) - s * Math.sin(w);
            residual += e * e;
          }
          const residualRms = Math.sqrt(residual / n);
          expect(db(residualRms / (wanted / Math.SQRT2))).to.be.below(-40);
        });
      }
    });
  }

  it('keeps state across frames: frame-wise output equals one-block output', () => {
    const input = sine(700, 8000, 1600, 8000);
    const whole = new Int16Array(3200);
    new Resampler(8000, 16000, { maxInputSamples: 1600 }).process(input, 1600, whole, 0);
    const framed = new Int16Array(3200);
    const rs = new Resampler(8000, 16000);
    let o = 0;
    for (let off = 0; off < 1600; off += 160) o += rs.process(input.subarray(off, off + 160), 160, framed, o);
    expect(o).to.equal(3200);
    expect(Array.from(framed)).to.deep.equal(Array.from(whole));
  });

  it('carries a fractional input position across uneven blocks (48 → 8 kHz)', () => {
    const rs = new Resampler(48000, 8000);
    const out = new Int16Array(100);
    const blocks = [7, 5, 13, 11, 6, 18];
    let produced = 0;
    let consumed = 0;
    for (const b of blocks) {
      expect(rs.outputFor(b)).to.be.a('number');
      produced += rs.process(new Int16Array(b), b, out, 0);
      consumed += b;
    }
    expect(produced).to.equal(Math.ceil(consumed / 6));
  });

  it('reset() returns to the initial state', () => {
    const rs = new Resampler(16000, 8000);
    const a = new Int16Array(160);
    const b = new Int16Array(160);
    const input = sine(1000, 9000, 320, 16000);
    rs.process(input, 320, a, 0);
    rs.process(sine(3000, 9000, 320, 16000), 320, b, 0);
    rs.reset();
    rs.process(input, 320, b, 0);
    expect(Array.from(b)).to.deep.equal(Array.from(a));
  });

  it('clips instead of wrapping on overshoot', () => {
    const rs = new Resampler(8000, 16000);
    const square = new Int16Array(800);
    for (let i = 0; i < square.length; i++) square[i] = i % 20 < 10 ? 32767 : -32768;
    const out = new Int16Array(1600);
    rs.process(square, 800, out, 0);
    let sameSign = 0;
    for (let i = 200; i < 1500; i++) {
      const src = square[Math.floor((i - Math.round(rs.delayOut)) / 2)];
      if (Math.sign(out[i]) === Math.sign(src) || Math.abs(out[i]) < 20000) sameSign++;
    }
    expect(sameSign).to.equal(1300);
  });
});
