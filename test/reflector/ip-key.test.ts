import { expect } from 'chai';
import { describe, it } from 'mocha';
import { formatEndpoint, ipv4ToNumber, normalizeIp, SourceMap } from '../../src/reflector/ip-key.js';

describe('reflector core: source address keys', () => {
  it('parses IPv4 and IPv4-mapped IPv6 to the same number, and refuses anything else', () => {
    expect(ipv4ToNumber('127.0.1.1')).to.equal(0x7f000101);
    expect(ipv4ToNumber('255.255.255.255')).to.equal(0xffffffff);
    expect(ipv4ToNumber('0.0.0.0')).to.equal(0);
    expect(ipv4ToNumber('::ffff:127.0.1.1')).to.equal(0x7f000101);
    expect(ipv4ToNumber('::FFFF:10.0.0.1')).to.equal(0x0a000001);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '::1', '::ffff:1.2.3', '1234.1.1.1', '::fffe:1.2.3.4']) {
      expect(ipv4ToNumber(bad), bad).to.equal(-1);
    }
  });

  it('normalises and formats addresses for comparisons and status', () => {
    expect(normalizeIp('::ffff:192.0.2.1')).to.equal('192.0.2.1');
    expect(normalizeIp('2001:DB8::1')).to.equal('2001:db8::1');
    expect(formatEndpoint('192.0.2.1', 5566)).to.equal('192.0.2.1:5566');
    expect(formatEndpoint('::1', 5566)).to.equal('[::1]:5566');
  });

  it('maps (ip, port) of both families, with mapped IPv4 equal to plain IPv4', () => {
    const m = new SourceMap<string>();
    m.set('192.0.2.1', 5000, 'a');
    m.set('2001:db8::1', 5000, 'b');
    m.set('2001:db8::1', 5001, 'c');
    expect(m.get('192.0.2.1', 5000)).to.equal('a');
    expect(m.get('::ffff:192.0.2.1', 5000)).to.equal('a');
    expect(m.get('192.0.2.1', 5001)).to.equal(undefined);
    expect(m.get('2001:db8::1', 5001)).to.equal('c');
    expect(m.size).to.equal(3);
    m.delete('2001:db8::1', 5000);
    m.delete('::ffff:192.0.2.1', 5000);
    expect(m.get('2001:db8::1', 5000)).to.equal(undefined);
    expect(m.get('192.0.2.1', 5000)).to.equal(undefined);
    expect(m.size).to.equal(1);
    m.clear();
    expect(m.size).to.equal(0);
  });
});
