import { expect } from 'chai';
import { RtpSeqState, seqAdd, seqDiff, seqNewer, tsAdd, tsDiff } from '../../src/rtp/seq.js';

describe('rtp/seq', () => {
  it('computes 16-bit sequence distances across the wrap', () => {
    expect(seqDiff(0, 65535)).to.equal(1);
    expect(seqDiff(65535, 0)).to.equal(-1);
    expect(seqDiff(5, 3)).to.equal(2);
    expect(seqDiff(0x8000, 0)).to.equal(-32768);
    expect(seqDiff(0x7fff, 0)).to.equal(32767);
    expect(seqNewer(0, 65535)).to.equal(true);
    expect(seqNewer(65535, 0)).to.equal(false);
    expect(seqNewer(7, 7)).to.equal(false);
    expect(seqAdd(65535, 1)).to.equal(0);
    expect(seqAdd(0, -1)).to.equal(65535);
  });

  it('computes 32-bit timestamp distances across the wrap', () => {
    expect(tsDiff(0, 0xffffffff)).to.equal(1);
    expect(tsDiff(0xffffffff, 0)).to.equal(-1);
    expect(tsDiff(160, 0)).to.equal(160);
    expect(tsDiff(0x80000000, 0)).to.equal(-0x80000000);
    expect(tsAdd(0xffffffff, 161)).to.equal(160);
  });

  it('tracks an RFC 3550 A.1 source through probation, a wrap and a loss', () => {
    const s = new RtpSeqState();
    s.start(65533);
    expect(s.update(65533)).to.equal(false); // probation 2 → 1
    expect(s.update(65534)).to.equal(true); // probation over: init at 65534, counted
    expect(s.update(65535)).to.equal(true);
    expect(s.update(1)).to.equal(true); // 0 lost, wrapped
    expect(s.extendedMax).to.equal(0x10001);
    expect(s.expected).to.equal(4); // 65534, 65535, 0, 1
    expect(s.received).to.equal(3);
    expect(s.cumulativeLost).to.equal(1);
    expect(s.takeFractionLost()).to.equal(64); // 1/4 in 8-bit fixed point
    expect(s.takeFractionLost()).to.equal(0);
  });

  it('treats a large jump as a restart only when confirmed by the next packet', () => {
    const s = new RtpSeqState();
    s.start(100);
    s.update(100);
    s.update(101);
    expect(s.update(30000)).to.equal(false);
    expect(s.update(30001)).to.equal(true); // bad_seq matched: re-init
    expect(s.extendedMax).to.equal(30001);
  });
});
