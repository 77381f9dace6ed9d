import { expect } from 'chai';
import { addressBytes, isWildcard, parseNetwork } from '../../src/config/ip-address.js';

const hex = (a: string): string | null => {
  const b = addressBytes(a);
  return b === null ? null : Buffer.from(b).toString('hex');
};

describe('config IP address forms', () => {
  it('expands IPv4 and IPv6 text to bytes', () => {
    expect(hex('192.0.2.1')).to.equal('c0000201');
    expect(hex('::')).to.equal('0'.repeat(32));
    expect(hex('::1')).to.equal(`${'0'.repeat(31)}1`);
    expect(hex('2001:db8::1:2')).to.equal('20010db8000000000000000000010002');
    expect(hex('1:2:3:4:5:6:7:8')).to.equal('00010002000300040005000600070008');
    expect(hex('::ffff:192.0.2.1')).to.equal('00000000000000000000ffffc0000201');
    expect(hex('fe80::1%eth0')).to.equal(null);
    expect(hex('300.1.1.1')).to.equal(null);
    expect(hex('host.example')).to.equal(null);
  });

  it('knows wildcard addresses', () => {
    expect(['0.0.0.0', '::', '0::0', '::0.0.0.0'].map(isWildcard)).to.deep.equal([true, true, true, true]);
    expect(['127.0.0.1', '::1', 'x'].map(isWildcard)).to.deep.equal([false, false, false]);
  });

  it('parses networks, hosts and all', () => {
    expect(parseNetwork('all')).to.deep.equal([{ family: 4, address: '0.0.0.0', prefix: 0 }, { family: 6, address: '::', prefix: 0 }]);
    expect(parseNetwork('ALL')).to.have.length(2);
    expect(parseNetwork('10.0.0.0/8')).to.deep.equal([{ family: 4, address: '10.0.0.0', prefix: 8 }]);
    expect(parseNetwork('192.0.2.7')).to.deep.equal([{ family: 4, address: '192.0.2.7', prefix: 32 }]);
    expect(parseNetwork('2001:DB8::/32')).to.deep.equal([{ family: 6, address: '2001:db8::', prefix: 32 }]);
    expect(parseNetwork('0.0.0.0/0')).to.deep.equal([{ family: 4, address: '0.0.0.0', prefix: 0 }]);
  });

  it('rejects host bits, bad prefixes and non-addresses with a reason', () => {
    for (const bad of ['10.0.0.1/8', '2001:db8::1/32', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', 'x/8', '', '10.0.0.0/08x']) {
      expect(parseNetwork(bad), bad).to.be.a('string').that.matches(/^expected/);
    }
  });
});
