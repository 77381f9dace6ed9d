/**
 * ITU-T G.722 at 64 kbit/s (mode 1): sub-band ADPCM, 16 kHz Int16 samples ⇄ one
 * byte per sample pair (RFC 3551 §4.5.2: the RTP clock is 8000 although the
 * audio is sampled at 16 kHz). The block numbers in comments are those of the
 * G.722 recommendation; the fixed-point arithmetic follows it (and the public
 * domain reference the spandsp/libg722 codecs derive from), so the bit stream
 * is interoperable.
 *
 * Code byte: bits 7-6 high-band index IH (2 bits), bits 5-0 low-band index IL (6 bits).
 */

/** Transmit and receive QMF coefficients (G.722 Table 11), oldest sample first. */
const QMF_FWD = Int32Array.from([3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11]);
const QMF_REV = Int32Array.from([-11, 53, -156, 362, -805, 3876, 951, -210, 32, 12, -11, 3]);
const QMF_TAPS = 12;

/** High-band inverse quantiser outputs for IH (Table 9, scaled). */
const QM2 = Int32Array.from([-7408, -1616, 7408, 1616]);
/** Low-band 4-bit inverse quantiser (Table 7, used for the predictor update). */
const QM4 = Int32Array.from([
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
]);
/** Low-band 6-bit inverse quantiser (Table 6, used for the reconstructed signal at 64 kbit/s). */
const QM6 = Int32Array.from([
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576,
  -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040,
  -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
]);
/** Low-band quantiser decision levels (Table 5, magnitudes). */
const Q6 = Int32Array.from([
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219,
  1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
]);
/** Low-band output codes for negative / positive differences by decision interval. */
const ILN = Int32Array.from([
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
  5, 4, 0,
]);
const ILP = Int32Array.from([
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35,
  34, 33, 32, 0,
]);
/** Inverse-log table for the scale factor (Block 3L/3H SCALEL/SCALEH). */
const ILB = Int32Array.from([
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960,
  3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
]);
/** Logarithmic scale factor multipliers (Table 8 low band, Table 10 high band). */
const WL = Int32Array.from([-60, -30, 58, 172, 334, 538, 1198, 3042]);
const RL42 = Int32Array.from([0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0]);
const WH = Int32Array.from([0, -214, 798]);
const RH2 = Int32Array.from([2, 1, 2, 1]);
const IHN = Int32Array.from([0, 1, 0]);
const IHP = Int32Array.from([0, 3, 2]);

const NB_MAX_LOW = 18432;
const NB_MAX_HIGH = 22528;
const DET_INIT_LOW = 32;
const DET_INIT_HIGH = 8;

function sat16(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

function sat15(x: number): number {
  return x > 16383 ? 16383 : x < -16384 ? -16384 : x;
}

/** Truncates to a signed 16-bit value, as a C (int16_t) cast does. */
function int16(x: number): number {
  return (x << 16) >> 16;
}

/** Signs of two 16-bit values differ. */
function signsDiffer(a: number, b: number): boolean {
  return ((a ^ b) & 0x8000) !== 0;
}

/** The adaptive predictor and scale factor of one sub-band. */
class Band {
  s = 0; // predicted signal
  sz = 0; // zero-section prediction
  r = 0; // previous reconstructed signal
  nb = 0; // log scale factor
  det = 0; // linear scale factor
  a0 = 0;
  a1 = 0;
  p0 = 0;
  p1 = 0;
  readonly b = new Int32Array(6);
  readonly d = new Int32Array(7);

  constructor(private readonly detInit: number) {
    this.det = detInit;
  }

  reset(): void {
    this.s = this.sz = this.r = this.nb = 0;
    this.a0 = this.a1 = this.p0 = this.p1 = 0;
    this.b.fill(0);
    this.d.fill(0);
    this.det = this.detInit;
  }

  /** Block 3: new log scale factor from the multiplier, then the linear one. */
  scale(multiplier: number, nbMax: number, shiftBase: number): void {
    let nb = ((this.nb * 127) >> 7) + multiplier;
    if (nb < 0) nb = 0;
    else if (nb > nbMax) nb = nbMax;
    this.nb = nb;
    const frac = (nb >> 6) & 31;
    const shift = shiftBase - (nb >> 11);
    const wd = shift < 0 ? ILB[frac] << -shift : ILB[frac] >> shift;
    this.det = int16(wd << 2);
  }

  /** Block 4: reconstruct, adapt the pole and zero predictors, predict the next sample. */
  predict(dx: number): void {
    const b = this.b;
    const d = this.d;
    // RECONS, PARREC
    const r = sat16(this.s + dx);
    const p = sat16(this.sz + dx);

    // UPPOL2
    const wd1 = sat16(this.a0 << 2);
    let wd32 = signsDiffer(p, this.p0) ? wd1 : -wd1;
    if (wd32 > 32767) wd32 = 32767;
    let ap1 = int16((signsDiffer(p, this.p1) ? -128 : 128) + (wd32 >> 7) + ((this.a1 * 32512) >> 15));
    if (ap1 > 12288) ap1 = 12288;
    else if (ap1 < -12288) ap1 = -12288;

    // UPPOL1
    let ap0 = sat16((signsDiffer(p, this.p0) ? -192 : 192) + ((this.a0 * 32640) >> 15));
    const limit = sat16(15360 - ap1);
    if (ap0 > limit) ap0 = limit;
    else if (ap0 < -limit) ap0 = -limit;

    // FILTEP
    const sp = sat16(((ap0 * sat16(r + r)) >> 15) + ((ap1 * sat16(this.r + this.r)) >> 15));
    this.r = r;
    this.a1 = ap1;
    this.a0 = ap0;
    this.p1 = this.p0;
    this.p0 = p;

    // UPZERO, DELAYA, FILTEZ
    const gain = dx === 0 ? 0 : 128;
    d[0] = dx;
    let sz = 0;
    for (let i = 5; i >= 0; i--) {
      const step = signsDiffer(d[i + 1], dx) ? -gain : gain;
      const bi = sat16(step + ((b[i] * 32640) >> 15));
      b[i] = bi;
      sz += (bi * sat16(d[i] + d[i])) >> 15;
      d[i + 1] = d[i];
    }
    this.sz = sat16(sz);

    // PREDIC
    this.s = sat16(sp + this.sz);
  }
}

/**
 * Σ x[(pos + k) mod 12] · coeffs[k]. The delay lines are 24 long with every
 * sample written twice (at i and i + 12), so the window is contiguous.
 */
function circularDot(x: Int32Array, coeffs: Int32Array, pos: number): number {
  return (
    x[pos] * coeffs[0] + x[pos + 1] * coeffs[1] + x[pos + 2] * coeffs[2] + x[pos + 3] * coeffs[3] +
    x[pos + 4] * coeffs[4] + x[pos + 5] * coeffs[5] + x[pos + 6] * coeffs[6] + x[pos + 7] * coeffs[7] +
    x[pos + 8] * coeffs[8] + x[pos + 9] * coeffs[9] + x[pos + 10] * coeffs[10] + x[pos + 11] * coeffs[11]
  );
}

/** The state encoder and decoder share (ITU-T G.722): both sub-bands and the QMF delay lines. */
class G722State {
  readonly low = new Band(DET_INIT_LOW);
  readonly high = new Band(DET_INIT_HIGH);
  readonly x = new Int32Array(2 * QMF_TAPS);
  readonly y = new Int32Array(2 * QMF_TAPS);
  ptr = 0;

  reset(): void {
    this.low.reset();
    this.high.reset();
    this.x.fill(0);
    this.y.fill(0);
    this.ptr = 0;
  }
}

export class G722Encoder {
  readonly #s = new G722State();

  reset(): void {
    this.#s.reset();
  }

  /** Encodes `count` (even) 16 kHz samples into count/2 bytes at `out[offset]`; returns bytes written. */
  encode(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number {
    const low = this.#s.low;
    const high = this.#s.high;
    const x = this.#s.x;
    const y = this.#s.y;
    let n = 0;
    for (let j = 0; j + 1 < count; j += 2) {
      // Transmit QMF: split into low and high band at 8 kHz each.
      const w = this.#s.ptr;
      x[w] = x[w + QMF_TAPS] = pcm[j];
      y[w] = y[w + QMF_TAPS] = pcm[j + 1];
      if (++this.#s.ptr >= QMF_TAPS) this.#s.ptr = 0;
      const sumOdd = circularDot(x, QMF_FWD, this.#s.ptr);
      const sumEven = circularDot(y, QMF_REV, this.#s.ptr);
      const xlow = int16((sumEven + sumOdd) >> 14);
      const xhigh = int16((sumEven - sumOdd) >> 14);

      // Block 1L SUBTRA, QUANTL
      const el = sat16(xlow - low.s);
      const wdl = el >= 0 ? el : ~el;
      // The first decision level above |el| (levels rise with i: binary search over 1..29, 30 = none).
      const det = low.det;
      let lo = 1;
      let hi = 30;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (wdl < (Q6[mid] * det) >> 12) hi = mid;
        else lo = mid + 1;
      }
      const i = lo;
      const ilow = el < 0 ? ILN[i] : ILP[i];
      // Block 2L INVQAL, 3L LOGSCL/SCALEL, 4L
      const ril = ilow >> 2;
      const dlow = int16((low.det * QM4[ril]) >> 15);
      low.scale(WL[RL42[ril]], NB_MAX_LOW, 8);
      low.predict(dlow);

      // Block 1H SUBTRA, QUANTH
      const eh = sat16(xhigh - high.s);
      const wdh = eh >= 0 ? eh : ~eh;
      const mih = wdh >= (564 * high.det) >> 12 ? 2 : 1;
      const ihigh = eh < 0 ? IHN[mih] : IHP[mih];
      // Block 2H INVQAH, 3H LOGSCH/SCALEH, 4H
      const dhigh = int16((high.det * QM2[ihigh]) >> 15);
      high.scale(WH[RH2[ihigh]], NB_MAX_HIGH, 10);
      high.predict(dhigh);

      out[offset + n++] = (ihigh << 6) | ilow;
    }
    return n;
  }
}

export class G722Decoder {
  readonly #s = new G722State();

  reset(): void {
    this.#s.reset();
  }

  /** Decodes `length` bytes into 2·length 16 kHz samples at `out[outOffset]`; returns samples written. */
  decode(payload: Uint8Array, start: number, length: number, out: Int16Array, outOffset: number): number {
    const low = this.#s.low;
    const high = this.#s.high;
    const x = this.#s.x;
    const y = this.#s.y;
    let n = outOffset;
    for (let j = 0; j < length; j++) {
      const code = payload[start + j];
      const il6 = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;

      // Block 5L INVQBL, RECONS, LIMIT (6-bit inverse quantiser)
      const rlow = sat15(low.s + ((low.det * QM6[il6]) >> 15));
      // Block 2L INVQAL (4-bit), 3L, 4L
      const il4 = il6 >> 2;
      const dlow = int16((low.det * QM4[il4]) >> 15);
      low.scale(WL[RL42[il4]], NB_MAX_LOW, 8);
      low.predict(dlow);

      // Block 2H INVQAH, 5H RECONS, 6H LIMIT, 3H, 4H
      const dhigh = int16((high.det * QM2[ihigh]) >> 15);
      const rhigh = sat15(dhigh + high.s);
      high.scale(WH[RH2[ihigh]], NB_MAX_HIGH, 10);
      high.predict(dhigh);

      // Receive QMF: back to 16 kHz.
      const w = this.#s.ptr;
      x[w] = x[w + QMF_TAPS] = sat16(rlow + rhigh);
      y[w] = y[w + QMF_TAPS] = sat16(rlow - rhigh);
      if (++this.#s.ptr >= QMF_TAPS) this.#s.ptr = 0;
      out[n++] = sat16(circularDot(y, QMF_REV, this.#s.ptr) >> 11);
      out[n++] = sat16(circularDot(x, QMF_FWD, this.#s.ptr) >> 11);
    }
    return n - outOffset;
  }
}
