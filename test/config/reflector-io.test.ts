/** REFLECTOR_IO is read from the environment by the config module only. */
import { expect } from 'chai';
import { reflectorIoFromEnv } from '../../src/config/defaults.js';

describe('config: REFLECTOR_IO', () => {
  it('takes mmsg and dgram, case-insensitively, and anything else as auto', () => {
    expect(reflectorIoFromEnv('mmsg')).to.equal('mmsg');
    expect(reflectorIoFromEnv(' DGRAM ')).to.equal('dgram');
    expect(reflectorIoFromEnv('auto')).to.equal('auto');
    expect(reflectorIoFromEnv('')).to.equal('auto');
    expect(reflectorIoFromEnv('sendmmsg')).to.equal('auto');
  });
});
