import { expect } from 'chai';
import {
  PCMA_DECODE,
  PCMU_DECODE,
  decodePcma,
  decodePcmu,
  encodePcma,
  encodePcmaSample,
  encodePcmu,
  encodePcmuSample,
} from '../../src/mixer/g711.js';

/**
 * Expected values are written independently of the implementation, from the
 * G.711 tables: µ-law segment s (0..7) has step 2^(s+1) in 14-bit units and
 * starts at biased value 32·2^s (bias 33); A-law segment s has step 2 (s ≤ 1)
 * or 2^s and starts at 0, 32, 64, 128, … in 13-bit units.
 */

/** µ-law: (segment, step) → reconstruction magnitude in 16-bit units (G.191 ulaw_expand form). */
function ulawLevel(segment: number, step: number): number {
  const stepSize = 4 << (segment + 1);
  return (0x80 << segment) + stepSize * step + stepSize / 2 - 4 * 33;
}

/** A-law: (segment, step) → the decision interval [lo, hi) of 13-bit magnitudes. */
function alawInterval(segment: number, step: number): [number, number] {
  if (segment === 0) return [2 * step, 2 * step + 2];
  const width = segment === 1 ? 2 : 1 << segment;
  const start = 16 << segment;
  return [start + width * step, start + width * (step + 1)];
}

/** µ-law: (segment, step) → the decision interval [lo, hi) of 14-bit biased magnitudes (mag + 33). */
function ulawInterval(segment: number, step: number): [number, number] {
  const width = 2 << segment;
  const start = 32 << segment;
  return [start + width * step, start + width * (step + 1)];
}

describe('mixer/g711', () => {
  it('decodes hand-checked µ-law codes', () => {
    expect(PCMU_DECODE[0xff]).to.equal(0);
    expect(PCMU_DECODE[0x7f]).to.equal(0); // "negative zero"
    expect(PCMU_DECODE[0x00]).to.equal(-32124);
    expect(PCMU_DECODE[0x80]).to.equal(32124);
    expect(PCMU_DECODE[0xfe]).to.equal(8);
    expect(PCMU_DECODE[0x7e]).to.equal(-8);
    expect(PCMU_DECODE[0xf0]).to.equal(120);
    expect(PCMU_DECODE[0xef]).to.equal(132);
  });

  it('decodes hand-checked A-law codes', () => {
    expect(PCMA_DECODE[0xd5]).to.equal(8);
    expect(PCMA_DECODE[0x55]).to.equal(-8);
    expect(PCMA_DECODE[0xd4]).to.equal(24);
    expect(PCMA_DECODE[0xaa]).to.equal(32256);
    expect(PCMA_DECODE[0x2a]).to.equal(-32256);
    expect(PCMA_DECODE[0xc5]).to.equal(264); // segment 1, step 0: (32 + 1) · 8
  });

  it('decodes all 256 µ-law codes to the G.711 reconstruction levels', () => {
    for (let code = 0; code < 256; code++) {
      const inv = ~code & 0xff;
      const level = ulawLevel((inv >> 4) & 7, inv & 15);
      const expected = inv & 0x80 ? -level : level;
      expect(PCMU_DECODE[code], `code 0x${code.toString(16)}`).to.equal(expected);
    }
  });

  it('decodes all 256 A-law codes to the middle of their decision intervals', () => {
    for (let code = 0; code < 256; code++) {
      const c = code ^ 0x55;
      const [lo, hi] = alawInterval((c >> 4) & 7, c & 15);
      const level = ((lo + hi) / 2) * 8;
      const expected = c & 0x80 ? level : -level;
      expect(PCMA_DECODE[code], `code 0x${code.toString(16)}`).to.equal(expected);
    }
  });

  it('encodes every 16-bit sample to the µ-law code whose decision interval holds it', () => {
    const intervals: Array<[number, number, number]> = [];
    for (let s = 0; s < 8; s++) for (let q = 0; q < 16; q++) intervals.push([...ulawInterval(s, q), (s << 4) | q]);
    let mismatches = 0;
    for (let x = -32768; x <= 32767; x++) {
      const magnitude = (x < 0 ? -x - 1 : x) >> 2; // one's complement for negatives (G.191)
      const biased = Math.min(magnitude + 33, 0x1fff);
      const found = intervals.find(([lo, hi]) => biased >= lo && biased < hi);
      expect(found, `x=${x}`).to.not.equal(undefined);
      const expected = (~found![2] & 0x7f) | (x >= 0 ? 0x80 : 0);
      if (encodePcmuSample(x) !== expected) mismatches++;
    }
    expect(mismatches).to.equal(0);
  });

  it('encodes every 16-bit sample to the A-law code whose decision interval holds it', () => {
    const intervals: Array<[number, number, number]> = [];
    for (let s = 0; s < 8; s++) for (let q = 0; q < 16; q++) intervals.push([...alawInterval(s, q), (s << 4) | q]);
    let mismatches = 0;
    for (let x = -32768; x <= 32767; x++) {
      const magnitude = (x < 0 ? -x - 1 : x) >> 3;
      const found = intervals.find(([lo, hi]) => magnitude >= lo && magnitude < hi);
      expect(found, `x=${x}`).to.not.equal(undefined);
      const expected = (found![2] | (x >= 0 ? 0x80 : 0)) ^ 0x55;
      if (encodePcmaSample(x) !== expected) mismatches++;
    }
    expect(mismatches).to.equal(0);
  });

  it('re-encodes every decoded level to its own code (except µ-law -0)', () => {
    for (let code = 0; code < 256; code++) {
      if (code !== 0x7f) expect(encodePcmuSample(PCMU_DECODE[code])).to.equal(code);
      expect(encodePcmaSample(PCMA_DECODE[code])).to.equal(code);
    }
  });

  it('encodes and decodes buffers at offsets', () => {
    const pcm = Int16Array.from([0, 1000, -1000, 32767, -32768]);
    const bytes = new Uint8Array(8);
    expect(encodePcmu(pcm, 5, bytes, 2)).to.equal(5);
    const back = new Int16Array(6);
    expect(decodePcmu(bytes, 2, 5, back, 1)).to.equal(5);
    expect(Array.from(back)).to.deep.equal([0, 0, 988, -988, 32124, -32124]);
    expect(encodePcma(pcm, 5, bytes, 0)).to.equal(5);
    expect(decodePcma(bytes, 0, 5, back, 0)).to.equal(5);
    expect(Array.from(back.subarray(0, 5))).to.deep.equal([8, 1008, -1008, 32256, -32256]);
  });
});
