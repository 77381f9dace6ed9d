import { expect } from 'chai';
import { SEQ_WINDOW_SIZE, SeqWindow } from '../../src/interconnect/seq-window.js';

describe('interconnect: SEQ anti-replay window', () => {
  it('accepts increasing SEQs and refuses repeats', () => {
    const w = new SeqWindow();
    expect([1, 2, 3, 10].map((s) => w.accept(s))).to.deep.equal([true, true, true, true]);
    expect([10, 3, 1].map((s) => w.accept(s))).to.deep.equal([false, false, false]);
  });

  it('accepts a reordered SEQ inside the window once, refuses one older than the window', () => {
    const w = new SeqWindow();
    expect(w.accept(100)).to.equal(true);
    expect(w.accept(99)).to.equal(true);
    expect(w.accept(99)).to.equal(false);
    expect(w.accept(100 - (SEQ_WINDOW_SIZE - 1))).to.equal(true);
    expect(w.accept(100 - SEQ_WINDOW_SIZE)).to.equal(false);
  });

  it('slides: after a jump past the window, only the new top is remembered', () => {
    const w = new SeqWindow();
    w.accept(5);
    expect(w.accept(5 + SEQ_WINDOW_SIZE + 3)).to.equal(true);
    expect(w.accept(5 + SEQ_WINDOW_SIZE + 2)).to.equal(true);
    expect(w.accept(5 + SEQ_WINDOW_SIZE + 3)).to.equal(false);
  });

  it('handles the top of the u32 range and starts over after reset()', () => {
    const w = new SeqWindow();
    expect(w.accept(0xffffffff)).to.equal(true);
    expect(w.accept(0xfffffffe)).to.equal(true);
    expect(w.accept(0xffffffff)).to.equal(false);
    w.reset();
    expect(w.accept(0)).to.equal(true);
    expect(w.accept(0)).to.equal(false);
  });
});
