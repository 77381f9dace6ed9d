import { expect } from 'chai';
import { addToSum, clearSum, mixMinus } from '../../src/mixer/mix.js';
import { sine, toneAmplitude } from './signals.js';

describe('mixer/mix', () => {
  it('gives each participant everyone else but itself', () => {
    const n = 8000;
    const a = sine(440, 8000, n, 8000);
    const b = sine(1000, 8000, n, 8000);
    const c = new Int16Array(n); // silent listener
    const sum = new Int32Array(n);
    clearSum(sum, n);
    for (const f of [a, b, c]) addToSum(sum, f, n);
    const outA = new Int16Array(n);
    const outB = new Int16Array(n);
    const outC = new Int16Array(n);
    mixMinus(sum, a, n, outA);
    mixMinus(sum, b, n, outB);
    mixMinus(sum, c, n, outC);
    expect(Array.from(outA)).to.deep.equal(Array.from(b)); // A hears B only, exactly
    expect(Array.from(outB)).to.deep.equal(Array.from(a));
    expect(toneAmplitude(outC, 0, n, 440, 8000)).to.be.closeTo(8000, 50);
    expect(toneAmplitude(outC, 0, n, 1000, 8000)).to.be.closeTo(8000, 50);
  });

  it('saturates instead of wrapping when the sum exceeds 16 bits', () => {
    const loud = new Int16Array(4).fill(30000);
    const quiet = Int16Array.from([-30000, -30000, -30000, -30000]);
    const sum = new Int32Array(4);
    addToSum(sum, loud, 4);
    addToSum(sum, loud, 4);
    addToSum(sum, loud, 4);
    const out = new Int16Array(4);
    expect(mixMinus(sum, null, 4, out)).to.equal(32767);
    expect(Array.from(out)).to.deep.equal([32767, 32767, 32767, 32767]);
    mixMinus(sum, loud, 4, out);
    expect(out[0]).to.equal(32767);
    clearSum(sum, 4);
    for (let k = 0; k < 3; k++) addToSum(sum, quiet, 4);
    expect(mixMinus(sum, null, 4, out)).to.equal(32768);
    expect(out[0]).to.equal(-32768);
    mixMinus(sum, quiet, 4, out);
    expect(out[0]).to.equal(-32768); // −60000 clipped, not wrapped to +5536
  });

  it('leaves samples beyond `count` untouched', () => {
    const sum = new Int32Array(4).fill(7);
    clearSum(sum, 2);
    expect(Array.from(sum)).to.deep.equal([0, 0, 7, 7]);
    const out = new Int16Array(4).fill(-1);
    mixMinus(sum, null, 3, out);
    expect(Array.from(out)).to.deep.equal([0, 0, 7, -1]);
  });
});
