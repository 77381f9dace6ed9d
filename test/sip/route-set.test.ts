/**
 * Route set of a UAS dialog (RFC 3261 §12.1.1, §12.2.1.1): Record-Route copied
 * in order, loose and strict first routes, and the next hop restricted to the
 * dialog's signalling source IP.
 */
import { expect } from 'chai';
import { parseSipMessage } from '../../src/sip/message.js';
import { recordRouteHeaders, routeInDialog } from '../../src/sip/dialog/route-set.js';
import type { SipSource } from '../../src/sip/transport/transport.js';

const SRC: SipSource = { transport: 'udp', address: '127.0.50.1', port: 40000 };
const TARGET = 'sip:alice@192.0.2.20:5099';

describe('sip/dialog/route-set', () => {
  it('copies every Record-Route value in order, from one header or several', () => {
    const head = [
      'INVITE sip:room@127.0.50.11 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.50.1;branch=z9hG4bKa',
      'Record-Route: <sip:127.0.50.1;lr=on;ftag=x>, <sip:198.51.100.7;lr>',
      'Record-Route: <sip:"odd,name"@203.0.113.9;lr>',
      'From: <sip:a@x>;tag=1', 'To: <sip:room@y>', 'Call-ID: c', 'CSeq: 1 INVITE', 'Max-Forwards: 70', '', '',
    ].join('\r\n');
    const r = parseSipMessage(head, Buffer.alloc(0));
    if (!r.ok || r.message.kind !== 'request') throw new Error('fixture does not parse');
    expect(recordRouteHeaders(r.message)).to.deep.equal([
      ['Record-Route', '<sip:127.0.50.1;lr=on;ftag=x>'],
      ['Record-Route', '<sip:198.51.100.7;lr>'],
      ['Record-Route', '<sip:"odd,name"@203.0.113.9;lr>'],
    ]);
  });

  it('without a route set: the remote target as Request-URI, no Route, sent to the signalling source', () => {
    expect(routeInDialog([], TARGET, SRC)).to.deep.equal({ requestUri: TARGET, routes: [], dest: SRC });
  });

  it('loose first route at the source IP: remote target as Request-URI, the whole set as Route, sent to its port', () => {
    const set = ['<sip:127.0.50.1:5060;lr=on>', '<sip:198.51.100.7;lr>'];
    expect(routeInDialog(set, TARGET, SRC)).to.deep.equal({
      requestUri: TARGET, routes: set, dest: { transport: 'udp', address: '127.0.50.1', port: 5060 },
    });
    expect(routeInDialog(['<sip:127.0.50.1;lr>'], TARGET, SRC).dest.port, 'default port').to.equal(5060);
  });

  it('strict first route: its URI as Request-URI, the rest plus the remote target as Route', () => {
    const set = ['<sip:127.0.50.1:5070>', '<sip:198.51.100.7;lr>'];
    expect(routeInDialog(set, TARGET, SRC)).to.deep.equal({
      requestUri: 'sip:127.0.50.1:5070', routes: ['<sip:198.51.100.7;lr>', `<${TARGET}>`],
      dest: { transport: 'udp', address: '127.0.50.1', port: 5070 },
    });
  });

  it('never sends to a first route that is another IP, a host name or unparsable: the signalling source instead', () => {
    for (const first of ['<sip:198.51.100.7:5060;lr>', '<sip:proxy.example.net;lr>', '<mailto:x@y>', 'garbage<']) {
      const r = routeInDialog([first], TARGET, SRC);
      expect(r.dest, first).to.deep.equal(SRC);
      expect(r.routes.length, first).to.be.greaterThan(0);
    }
  });

  it('over TCP keeps the connection the dialog came on', () => {
    const tcp: SipSource = { transport: 'tcp', address: '127.0.50.1', port: 41000, connId: 7 };
    expect(routeInDialog(['<sip:127.0.50.1:5060;transport=tcp;lr>'], TARGET, tcp).dest).to.deep.equal(tcp);
  });

  it('an IPv4-mapped source matches the first route\'s IPv4 address', () => {
    const mapped: SipSource = { transport: 'udp', address: '::ffff:127.0.50.1', port: 40000 };
    expect(routeInDialog(['<sip:127.0.50.1:5062;lr>'], TARGET, mapped).dest).to.deep.equal({ transport: 'udp', address: '::ffff:127.0.50.1', port: 5062 });
  });
});
