/** RateLimitedLog: one line per key per interval, keys independent. */
import { expect } from 'chai';
import { createLogger } from '../../src/runtime/logger.js';
import { RateLimitedLog } from '../../src/runtime/rate-limited-log.js';

describe('runtime/rate-limited-log', () => {
  it('writes a key at most once per interval and each key on its own', () => {
    const lines: string[] = [];
    const log = new RateLimitedLog(createLogger('info', (l) => { lines.push(l); }), 10_000);
    expect(log.warn('a', 'drop', { n: 1 }, 1_000)).to.equal(true);
    for (let i = 0; i < 1000; i++) log.warn('a', 'drop', { n: i }, 1_000 + i);
    expect(log.warn('b', 'other', {}, 2_000)).to.equal(true);
    expect(log.warn('a', 'drop', {}, 10_999)).to.equal(false);
    expect(log.warn('a', 'drop', {}, 11_000)).to.equal(true);
    expect(lines).to.have.length(3);
    expect(JSON.parse(lines[0]) as Record<string, unknown>).to.include({ level: 'warn', event: 'drop', n: 1 });
  });
});
