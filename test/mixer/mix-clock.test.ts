import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import { MixClock } from '../../src/mixer/mix-clock.js';

describe('mixer/mix-clock', () => {
  let clock: ReturnType<typeof FakeTimers.install>;

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'], now: 0 });
  });

  afterEach(() => {
    clock.uninstall();
  });

  it('fires every 20 ms on schedule, without accumulating timer lateness', () => {
    const due: number[] = [];
    let now = 0;
    const mc = new MixClock(20, (d) => due.push(d), () => now);
    mc.start();
    // Every timer fires 3 ms late; the schedule must not drift.
    for (let i = 0; i < 1000; i++) {
      now += 20;
      clock.tick(20);
      if (i % 2 === 0) {
        now += 3;
        clock.tick(3);
      }
    }
    // Exactly the frames due by the monotonic clock, each at its own slot of the grid.
    expect(now).to.equal(21500);
    expect(due.length).to.equal(1075);
    due.forEach((d, i) => expect(d).to.equal(20 * (i + 1)));
    mc.stop();
  });

  it('catches up after a short stall and skips after a long one', () => {
    const due: number[] = [];
    let now = 0;
    const mc = new MixClock(20, (d) => due.push(d), () => now);
    mc.start();
    now = 100; // 5 frames due at once
    clock.tick(100);
    expect(due).to.deep.equal([20, 40, 60, 80, 100]);
    now = 1100; // 50 frames due: at most 5 run, the rest are skipped
    clock.tick(1000);
    expect(due.length).to.equal(10);
    expect(mc.skippedFrames).to.equal(45);
    due.length = 0;
    now = 1120;
    clock.tick(20);
    expect(due).to.deep.equal([1120]);
    mc.stop();
  });

  it('stops from inside a frame and does not re-arm', () => {
    let n = 0;
    let now = 0;
    const mc = new MixClock(20, () => {
      n++;
      mc.stop();
    }, () => now);
    mc.start();
    now = 200;
    clock.tick(200);
    expect(n).to.equal(1);
    expect(mc.running).to.equal(false);
    expect(clock.countTimers()).to.equal(0);
  });
});
