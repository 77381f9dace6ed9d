import { expect } from 'chai';
import {
  StunClass,
  StunDrop,
  StunMessage,
  encodeStunBindingRequest,
  isStunBindingRequest,
  parseStun,
  readXorMappedAddress,
  stunBindingSuccessSize,
  writeStunBindingSuccess,
} from '../../src/rtp/stun.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

// RFC 5769 §2.1 sample request (ICE-style Binding Request with six attributes).
const RFC5769_REQUEST = Buffer.from([
  0x00, 0x01, 0x00, 0x58, // Binding Request, message length 88
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // }
  0xbc, 0x34, 0xd6, 0x86, // } transaction ID
  0xfa, 0x87, 0xdf, 0xae, // }
  0x80, 0x22, 0x00, 0x10, // SOFTWARE, length 16
  0x53, 0x54, 0x55, 0x4e, // "STUN"
  0x20, 0x74, 0x65, 0x73, // " tes"
  0x74, 0x20, 0x63, 0x6c, // "t cl"
  0x69, 0x65, 0x6e, 0x74, // "ient"
  0x00, 0x24, 0x00, 0x04, // PRIORITY, length 4
  0x6e, 0x00, 0x01, 0xff, // priority value
  0x80, 0x29, 0x00, 0x08, // ICE-CONTROLLED, length 8
  0x93, 0x2f, 0xf9, 0xb1, // tie breaker
  0x51, 0x26, 0x3b, 0x36, //
  0x00, 0x06, 0x00, 0x09, // USERNAME, length 9 (+3 padding)
  0x65, 0x76, 0x74, 0x6a, // "evtj"
  0x3a, 0x68, 0x36, 0x76, // ":h6v"
  0x59, 0x20, 0x20, 0x20, // "Y" + 3 padding bytes
  0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY, length 20
  0x9a, 0xea, 0xa7, 0x0c, //
  0xbf, 0xd8, 0xcb, 0x56, //
  0x78, 0x1e, 0xf2, 0xb5, // HMAC-SHA1
  0xb2, 0xd3, 0xf2, 0x49, //
  0xc1, 0xb5, 0x71, 0xa2, //
  0x80, 0x28, 0x00, 0x04, // FINGERPRINT, length 4
  0xe5, 0x7a, 0x3b, 0xcf, // CRC-32
]);

// A bare Binding Request as RFC 5389 §7.3 clients (and SPEC §5 keep-alives) send it.
const BARE_REQUEST = Buffer.from([
  0x00, 0x01, 0x00, 0x00, // Binding Request, no attributes
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // }
  0xbc, 0x34, 0xd6, 0x86, // } transaction ID (RFC 5769's)
  0xfa, 0x87, 0xdf, 0xae, // }
]);

// The expected responses: header + XOR-MAPPED-ADDRESS only; the X-Port and
// X-Address words are those of RFC 5769 §2.2 and §2.3 (192.0.2.1:32853 and
// [2001:db8:1234:5678:11:2233:4455:6677]:32853 with that transaction ID).
const IPV4_SUCCESS = Buffer.from([
  0x01, 0x01, 0x00, 0x0c, // Binding Success Response, length 12
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // }
  0xbc, 0x34, 0xd6, 0x86, // } transaction ID copied from the request
  0xfa, 0x87, 0xdf, 0xae, // }
  0x00, 0x20, 0x00, 0x08, // XOR-MAPPED-ADDRESS, length 8
  0x00, 0x01, 0xa1, 0x47, // reserved | family IPv4 | X-Port = 32853 ^ 0x2112
  0xe1, 0x12, 0xa6, 0x43, // X-Address = 192.0.2.1 ^ 0x2112A442
]);
const IPV6_SUCCESS = Buffer.from([
  0x01, 0x01, 0x00, 0x18, // Binding Success Response, length 24
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // }
  0xbc, 0x34, 0xd6, 0x86, // } transaction ID
  0xfa, 0x87, 0xdf, 0xae, // }
  0x00, 0x20, 0x00, 0x14, // XOR-MAPPED-ADDRESS, length 20
  0x00, 0x02, 0xa1, 0x47, // reserved | family IPv6 | X-Port
  0x01, 0x13, 0xa9, 0xfa, // } X-Address = address ^ (cookie ‖ transaction ID)
  0xa5, 0xd3, 0xf1, 0x79, // }
  0xbc, 0x25, 0xf4, 0xb5, // }
  0xbe, 0xd2, 0xb9, 0xd9, // }
]);

describe('rtp/stun', () => {
  const m = new StunMessage();

  it('parses the RFC 5769 sample request and bounds its attributes', () => {
    expect(parseStun(RFC5769_REQUEST, m)).to.equal(null);
    expect(m.type).to.equal(0x0001);
    expect(m.method).to.equal(1);
    expect(m.messageClass).to.equal(StunClass.Request);
    expect(m.length).to.equal(88);
    expect(m.attributeCount).to.equal(6);
    expect(isStunBindingRequest(RFC5769_REQUEST)).to.equal(true);
    expect(isStunBindingRequest(BARE_REQUEST)).to.equal(true);
  });

  it('decodes method and class of a success response; it is not a request', () => {
    expect(parseStun(IPV4_SUCCESS, m)).to.equal(null);
    expect(m.method).to.equal(1);
    expect(m.messageClass).to.equal(StunClass.SuccessResponse);
    expect(isStunBindingRequest(IPV4_SUCCESS)).to.equal(false);
  });

  it('writes the IPv4 Binding Success Response byte for byte', () => {
    const out = Buffer.alloc(64);
    const n = writeStunBindingSuccess(BARE_REQUEST, '192.0.2.1', 32853, 4, out);
    expect(n).to.equal(32);
    expect(out.subarray(0, n).toString('hex')).to.equal(IPV4_SUCCESS.toString('hex'));
    // A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6.
    expect(writeStunBindingSuccess(BARE_REQUEST, '::ffff:192.0.2.1', 32853, 4, out)).to.equal(32);
    expect(out.subarray(0, 32).toString('hex')).to.equal(IPV4_SUCCESS.toString('hex'));
  });

  it('writes the IPv6 Binding Success Response byte for byte', () => {
    const out = Buffer.alloc(stunBindingSuccessSize(6));
    for (const text of ['2001:db8:1234:5678:11:2233:4455:6677', '2001:0DB8:1234:5678:0011:2233:4455:6677%eth0']) {
      out.fill(0xee);
      expect(writeStunBindingSuccess(RFC5769_REQUEST, text, 32853, 6, out)).to.equal(44);
      expect(out.toString('hex')).to.equal(IPV6_SUCCESS.toString('hex'));
    }
  });

  it('round-trips XOR-MAPPED-ADDRESS for loopback and compressed IPv6 forms', () => {
    const req = encodeStunBindingRequest(Buffer.from('0123456789ab'));
    expect(isStunBindingRequest(req)).to.equal(true);
    const out = Buffer.alloc(44);
    const cases: Array<[string, 4 | 6, string]> = [
      ['127.0.0.1', 4, '127.0.0.1'],
      ['255.255.255.255', 4, '255.255.255.255'],
      ['::1', 6, '::1'],
      ['::', 6, '::'],
      ['fe80::1:2', 6, 'fe80::1:2'],
      ['1::', 6, '1::'],
      ['::ffff:127.0.0.1', 6, '::ffff:7f00:1'],
    ];
    for (const [addr, family, back] of cases) {
      const n = writeStunBindingSuccess(req, addr, 65535, family, out);
      expect(n, addr).to.equal(stunBindingSuccessSize(family));
      expect(readXorMappedAddress(out.subarray(0, n))).to.deep.equal({ family, address: back, port: 65535 });
    }
  });

  it('refuses bad addresses, ports, short requests and short output buffers', () => {
    const out = Buffer.alloc(64);
    for (const addr of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'a.b.c.d', 'localhost']) {
      expect(writeStunBindingSuccess(BARE_REQUEST, addr, 1, 4, out), addr).to.equal(0);
    }
    for (const addr of ['', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7::8']) {
      expect(writeStunBindingSuccess(BARE_REQUEST, addr, 1, 6, out), addr).to.equal(0);
    }
    expect(writeStunBindingSuccess(BARE_REQUEST, '127.0.0.1', 65536, 4, out)).to.equal(0);
    expect(writeStunBindingSuccess(BARE_REQUEST, '127.0.0.1', -1, 4, out)).to.equal(0);
    expect(writeStunBindingSuccess(BARE_REQUEST.subarray(0, 19), '127.0.0.1', 1, 4, out)).to.equal(0);
    expect(writeStunBindingSuccess(BARE_REQUEST, '127.0.0.1', 1, 4, Buffer.alloc(31))).to.equal(0);
    expect(writeStunBindingSuccess(BARE_REQUEST, '::1', 1, 6, Buffer.alloc(43))).to.equal(0);
  });

  const hdr = (b0: number, b1: number, len: number, cookie = 0x2112a442): number[] => [
    b0, b1, len >> 8, len & 0xff, cookie >>> 24, (cookie >>> 16) & 0xff, (cookie >>> 8) & 0xff, cookie & 0xff,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
  ];
  const malformed: Array<[string, number[], StunDrop]> = [
    ['19 bytes', hdr(0, 1, 0).slice(0, 19), StunDrop.TooShort],
    ['an RTP packet (top bits 10)', [0x80, 0, 0, 0, ...hdr(0, 1, 0).slice(4)], StunDrop.NotStun],
    ['a wrong magic cookie (RFC 3489)', hdr(0, 1, 0, 0x12345678), StunDrop.BadCookie],
    ['length not a multiple of 4', [...hdr(0, 1, 2), 0, 0], StunDrop.BadLength],
    ['length beyond the datagram', hdr(0, 1, 4), StunDrop.BadLength],
    ['bytes after the message', [...hdr(0, 1, 0), 0, 0, 0, 0], StunDrop.BadLength],
    ['attribute value beyond the message', [...hdr(0, 1, 8), 0x80, 0x22, 0x00, 0x08, 0x41, 0x41, 0x41, 0x41], StunDrop.AttributeOverrun],
    ['attribute padding beyond the message', [...hdr(0, 1, 8), 0x80, 0x22, 0x00, 0x05, 0x41, 0x41, 0x41, 0x41], StunDrop.AttributeOverrun],
  ];
  for (const [name, bytes, reason] of malformed) {
    it(`drops ${name} as ${reason}`, () => {
      expect(parseStun(Buffer.from(bytes), m)).to.equal(reason);
      expect(isStunBindingRequest(Buffer.from(bytes))).to.equal(false);
    });
  }

  it(`never throws on ${FUZZ_COUNT} random, truncated and bit-flipped inputs`, function () {
    this.timeout(120_000);
    let accepted = 0;
    const out = Buffer.alloc(64);
    forEachFuzzInput(0x5eed0003, FUZZ_COUNT, [RFC5769_REQUEST, BARE_REQUEST, IPV4_SUCCESS, IPV6_SUCCESS], (buf) => {
      if (parseStun(buf, m) === null) accepted++;
      if (isStunBindingRequest(buf)) writeStunBindingSuccess(buf, '127.0.0.1', 5570, 4, out);
      readXorMappedAddress(buf);
    });
    expect(accepted).to.be.greaterThan(100);
  });
});
