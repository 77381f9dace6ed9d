/**
 * ITU-T G.711 µ-law (PCMU) and A-law (PCMA), RFC 3551 §4.5.14.
 *
 * Decoding is one lookup in a 256-entry Int16 table. Encoding is one lookup in a
 * table indexed by the sample's significant bits: µ-law quantises a 14-bit
 * magnitude (x >> 2, 16384 entries), A-law a 13-bit one (x >> 3, 8192 entries).
 * The tables are built once from the segment/quantisation rules of G.711
 * (Tables 1a/2a), with negative samples taken as one's complement (~x), as in
 * the ITU-T G.191 reference software: x and ~x encode to the same magnitude.
 */

/** Code byte of µ-law: sign (1 = positive), 3-bit segment, 4-bit step — all inverted on the wire. */
const ULAW_BIAS = 33; // in 14-bit units (0x84 in 16-bit units)
const ULAW_MAX_BIASED = 0x1fff;
/** A-law codes are XORed with 0x55 on the wire (even-bit inversion). */
const ALAW_XOR = 0x55;

export const PCMU_DECODE = new Int16Array(256);
export const PCMA_DECODE = new Int16Array(256);
const ULAW_ENCODE = new Uint8Array(16384);
const ALAW_ENCODE = new Uint8Array(8192);

function ulawExpand(code: number): number {
  const c = ~code & 0xff;
  const segment = (c >> 4) & 0x07;
  const step = c & 0x0f;
  // Reconstruction level in 14-bit units: ((2·step + 33) << segment) − 33, then ×4 to 16 bits.
  const magnitude = (((2 * step + ULAW_BIAS) << segment) - ULAW_BIAS) << 2;
  return (c & 0x80) !== 0 ? -magnitude : magnitude;
}

function alawExpand(code: number): number {
  const c = code ^ ALAW_XOR;
  const segment = (c >> 4) & 0x07;
  const step = c & 0x0f;
  // Reconstruction level in 13-bit units: 2·step + 1 in segment 0, (2·step + 33) << (segment − 1) above; ×8 to 16 bits.
  const magnitude = (segment === 0 ? 2 * step + 1 : (2 * step + 33) << (segment - 1)) << 3;
  return (c & 0x80) !== 0 ? magnitude : -magnitude;
}

/** µ-law code of a 16-bit sample (G.191 ulaw_compress). */
function ulawCompress(x: number): number {
  const biased = Math.min((x < 0 ? ~x : x) >> 2, ULAW_MAX_BIASED - ULAW_BIAS) + ULAW_BIAS;
  let segment = 0;
  for (let v = biased >> 6; v !== 0; v >>= 1) segment++;
  const step = (biased >> (segment + 1)) & 0x0f;
  const code = ((7 - segment) << 4) | (15 - step);
  return x >= 0 ? code | 0x80 : code;
}

/** A-law code of a 16-bit sample (G.191 alaw_compress). */
function alawCompress(x: number): number {
  let ix = (x < 0 ? ~x : x) >> 4; // 12-bit magnitude
  if (ix > 15) {
    let segment = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      segment++;
    }
    ix = ix - 16 + (segment << 4);
  }
  if (x >= 0) ix |= 0x80;
  return ix ^ ALAW_XOR;
}

for (let code = 0; code < 256; code++) {
  PCMU_DECODE[code] = ulawExpand(code);
  PCMA_DECODE[code] = alawExpand(code);
}
for (let i = 0; i < 16384; i++) ULAW_ENCODE[i] = ulawCompress(((i << 18) >> 16)); // sign-extend 14 → 16 bits
for (let i = 0; i < 8192; i++) ALAW_ENCODE[i] = alawCompress(((i << 19) >> 16)); // sign-extend 13 → 16 bits

/** µ-law code of one 16-bit sample. */
export function encodePcmuSample(x: number): number {
  return ULAW_ENCODE[(x >> 2) & 0x3fff];
}

/** A-law code of one 16-bit sample. */
export function encodePcmaSample(x: number): number {
  return ALAW_ENCODE[(x >> 3) & 0x1fff];
}

/** Encodes `count` samples of `pcm` into `out` from `offset`; returns bytes written. */
export function encodePcmu(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number {
  for (let i = 0; i < count; i++) out[offset + i] = encodePcmuSample(pcm[i]);
  return count;
}

export function encodePcma(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number {
  for (let i = 0; i < count; i++) out[offset + i] = encodePcmaSample(pcm[i]);
  return count;
}

/** Decodes `length` bytes of `payload` from `start` into `out` from `outOffset`; returns samples written. */
export function decodePcmu(payload: Uint8Array, start: number, length: number, out: Int16Array, outOffset: number): number {
  for (let i = 0; i < length; i++) out[outOffset + i] = PCMU_DECODE[payload[start + i]];
  return length;
}

export function decodePcma(payload: Uint8Array, start: number, length: number, out: Int16Array, outOffset: number): number {
  for (let i = 0; i < length; i++) out[outOffset + i] = PCMA_DECODE[payload[start + i]];
  return length;
}
