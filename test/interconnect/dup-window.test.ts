import { expect } from 'chai';
import { DUP_RESTART_DISTANCE, DUP_WINDOW_SIZE, DupVerdict, DupWindow } from '../../src/interconnect/dup-window.js';

describe('interconnect: duplicate window (ORIGIN_SEQ)', () => {
  it('accepts each sequence number once, reordered ones inside the window too', () => {
    const w = new DupWindow();
    expect(w.check(100)).to.equal(DupVerdict.New);
    expect(w.check(100)).to.equal(DupVerdict.Duplicate);
    expect(w.check(102)).to.equal(DupVerdict.New);
    expect(w.check(101)).to.equal(DupVerdict.New);
    expect(w.check(101)).to.equal(DupVerdict.Duplicate);
    expect(w.check(102 - DUP_WINDOW_SIZE + 1)).to.equal(DupVerdict.New);
    expect(w.check(102 - DUP_WINDOW_SIZE)).to.equal(DupVerdict.TooOld);
  });

  it('forgets what slid out of the window and reuses its bits', () => {
    const w = new DupWindow();
    for (let s = 0; s < 3 * DUP_WINDOW_SIZE; s++) expect(w.check(s)).to.equal(DupVerdict.New);
    expect(w.check(3 * DUP_WINDOW_SIZE - 1)).to.equal(DupVerdict.Duplicate);
    // A jump inside the restart distance clears the bits between.
    expect(w.check(3 * DUP_WINDOW_SIZE + 10)).to.equal(DupVerdict.New);
    expect(w.check(3 * DUP_WINDOW_SIZE + 5)).to.equal(DupVerdict.New);
  });

  it('wraps at 2^32 (serial arithmetic)', () => {
    const w = new DupWindow();
    expect(w.check(0xffff_fffe)).to.equal(DupVerdict.New);
    expect(w.check(0xffff_ffff)).to.equal(DupVerdict.New);
    expect(w.check(0)).to.equal(DupVerdict.New);
    expect(w.check(1)).to.equal(DupVerdict.New);
    expect(w.check(0xffff_ffff)).to.equal(DupVerdict.Duplicate);
    expect(w.check(0)).to.equal(DupVerdict.Duplicate);
  });

  it('takes a jump beyond the restart distance, either way, as a new sequence space', () => {
    const w = new DupWindow();
    expect(w.check(5000)).to.equal(DupVerdict.New);
    expect(w.check(5000 + DUP_RESTART_DISTANCE + 1)).to.equal(DupVerdict.New);
    expect(w.check(5000)).to.equal(DupVerdict.New); // far behind: the origin started again
    expect(w.check(5000)).to.equal(DupVerdict.Duplicate);
  });
});
