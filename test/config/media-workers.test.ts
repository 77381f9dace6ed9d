/**
 * MEDIA_WORKERS and REFLECTOR_MEDIA_WORKERS: which count the core runs with. The environment
 * variable (a count 1-64 or `auto`) overrides the keyword; anything else in it is ignored.
 */
import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import { describe, it } from 'mocha';
import { effectiveMediaWorkers, MAX_MEDIA_WORKERS } from '../../src/config/defaults.js';

describe('config: MEDIA_WORKERS in effect', () => {
  const cores = Math.min(MAX_MEDIA_WORKERS, availableParallelism());

  it('the keyword when the environment says nothing usable', () => {
    expect(effectiveMediaWorkers(3, '')).to.equal(3);
    expect(effectiveMediaWorkers(3, '0')).to.equal(3);
    expect(effectiveMediaWorkers(3, '65')).to.equal(3);
    expect(effectiveMediaWorkers(3, 'two')).to.equal(3);
    expect(effectiveMediaWorkers('auto', ' ')).to.equal(cores);
  });

  it('the environment over the keyword: a count, or auto (one per core)', () => {
    expect(effectiveMediaWorkers('auto', '1')).to.equal(1);
    expect(effectiveMediaWorkers(4, ' 2 ')).to.equal(2);
    expect(effectiveMediaWorkers(4, 'AUTO')).to.equal(cores);
    expect(effectiveMediaWorkers(1, '64')).to.equal(64);
  });
});
