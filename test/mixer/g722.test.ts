import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { G722Decoder, G722Encoder } from '../../src/mixer/g722.js';
import { g722GoldenInput, noise as noiseAt, sine as sineAt } from './signals.js';

const RATE = 16000;
const sine = (f: number, a: number, n: number): Int16Array => sineAt(f, a, n, RATE);
const noise = (a: number, n: number): Int16Array => noiseAt(a, n);

/** Encodes and decodes in 20 ms frames, as the mixer does. */
function roundTrip(pcm: Int16Array, enc = new G722Encoder(), dec = new G722Decoder()): Int16Array {
  const frame = 320;
  const bytes = new Uint8Array(frame / 2);
  const out = new Int16Array(pcm.length);
  for (let off = 0; off + frame <= pcm.length; off += frame) {
    expect(enc.encode(pcm.subarray(off, off + frame), frame, bytes, 0)).to.equal(frame / 2);
    expect(dec.decode(bytes, 0, frame / 2, out, off)).to.equal(frame);
  }
  return out;
}

/** Best SNR (dB) over delays 0..64 samples, measured after a settling time. */
function snrDb(ref: Int16Array, got: Int16Array): { snr: number; delay: number } {
  let best = { snr: -Infinity, delay: -1 };
  const start = 1600;
  const end = ref.length - 100;
  for (let delay = 0; delay <= 64; delay++) {
    let sig = 0;
    let err = 0;
    for (let i = start; i < end; i++) {
      const r = ref[i];
      const e = got[i + delay] - r;
      sig += r * r;
      err += e * e;
    }
    const snr = 10 * Math.log10(sig / Math.max(err, 1e-9));
    if (snr > best.snr) best = { snr, delay };
  }
  return best;
}

describe('mixer/g722', () => {
  it('round-trips a 1 kHz sine with more than 30 dB SNR after delay alignment', () => {
    const pcm = sine(1000, 10000, RATE);
    const { snr } = snrDb(pcm, roundTrip(pcm));
    expect(snr).to.be.greaterThan(30);
  });

  it('round-trips a 6 kHz sine (high band) with a usable SNR', () => {
    const pcm = sine(6000, 8000, RATE);
    const { snr } = snrDb(pcm, roundTrip(pcm));
    expect(snr).to.be.greaterThan(10);
  });

  it('round-trips white noise with a lower-bounded SNR', () => {
    const pcm = noise(8000, RATE);
    const { snr, delay } = snrDb(pcm, roundTrip(pcm));
    expect(delay).to.equal(22); // transmit + receive QMF
    expect(snr).to.be.greaterThan(8);
  });

  it('decodes silence to near-silence', () => {
    const out = roundTrip(new Int16Array(RATE / 10));
    expect(out.every((v) => Math.abs(v) <= 4)).to.equal(true);
  });

  it('produces the same bytes after reset() as a fresh codec', () => {
    const pcm = sine(440, 12000, 640);
    const fresh = new Uint8Array(320);
    new G722Encoder().encode(pcm, 640, fresh, 0);

    const enc = new G722Encoder();
    const scratch = new Uint8Array(320);
    enc.encode(noise(20000, 640), 640, scratch, 0);
    const again = new Uint8Array(320);
    enc.reset();
    enc.encode(pcm, 640, again, 0);
    expect(Buffer.from(again).equals(Buffer.from(fresh))).to.equal(true);

    const dec = new G722Decoder();
    const a = new Int16Array(640);
    const b = new Int16Array(640);
    dec.decode(scratch, 0, 320, a, 0);
    dec.reset();
    dec.decode(fresh, 0, 320, a, 0);
    new G722Decoder().decode(fresh, 0, 320, b, 0);
    expect(Array.from(a)).to.deep.equal(Array.from(b));
  });

  it('saturates full-scale input without wrapping', () => {
    const pcm = new Int16Array(3200);
    for (let i = 0; i < pcm.length; i++) pcm[i] = i % 40 < 20 ? 32767 : -32768;
    const out = roundTrip(pcm);
    // A full-scale square wave stays a large-amplitude signal of the same polarity pattern.
    const { snr } = snrDb(pcm, out);
    expect(snr).to.be.greaterThan(5);
  });
});

describe('mixer/g722 against spandsp golden vectors', () => {
  const fixture = (name: string): Buffer =>
    readFileSync(fileURLToPath(new URL(`../../../test/mixer/fixtures/${name}`, import.meta.url)));

  it('encodes bit-exactly as spandsp (including a clipped burst)', () => {
    const golden = fixture('g722-golden.g722');
    const pcm = g722GoldenInput();
    const enc = new G722Encoder();
    const out = new Uint8Array(pcm.length / 2);
    for (let off = 0; off < pcm.length; off += 320) enc.encode(pcm.subarray(off, off + 320), 320, out, off / 2);
    expect(golden.length).to.equal(4000);
    let firstDiff = -1;
    for (let i = 0; i < out.length && firstDiff < 0; i++) if (out[i] !== golden[i]) firstDiff = i;
    expect(firstDiff).to.equal(-1);
  });

  it('decodes the golden bit stream sample-exactly (saturating where spandsp 0.0.6 wraps)', () => {
    const golden = fixture('g722-golden.g722');
    const raw = fixture('g722-golden-decoded.s16le');
    const ref = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const dec = new G722Decoder();
    const out = new Int16Array(8000);
    for (let off = 0; off < golden.length; off += 160) dec.decode(golden, off, 160, out, off * 2);
    let exact = 0;
    let wrapped = 0;
    let other = 0;
    for (let i = 0; i < out.length; i++) {
      if (out[i] === ref[i]) exact++;
      else if ((out[i] === 32767 && ref[i] < 0) || (out[i] === -32768 && ref[i] > 0)) wrapped++;
      else other++;
    }
    expect(other).to.equal(0);
    expect(wrapped).to.be.below(60);
    expect(exact).to.be.above(7900);
  });
});
