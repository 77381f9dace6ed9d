/**
 * STUN short-term integrity and fingerprint (RFC 5389 §15.4, §15.5) against the
 * RFC 5769 test vectors, and the ICE Binding Success Response we write.
 */
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import {
  crc32,
  encodeIceCheck,
  iceBindingSuccessSize,
  parseStun,
  readStunAttributes,
  readXorMappedAddress,
  StunAttributes,
  StunDrop,
  stunFingerprintOk,
  stunIntegrityOk,
  StunMessage,
  STUN_BINDING_SUCCESS,
  writeIceBindingSuccess,
} from '../../src/rtp/stun.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PASSWORD = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt', 'utf8');

// RFC 5769 §2.1 Sample Request (USERNAME "evtj:h6vY", SOFTWARE, PRIORITY, ICE-CONTROLLED).
const REQUEST = hex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`);
// RFC 5769 §2.2 Sample IPv4 Response (192.0.2.1:32853).
const RESPONSE4 = hex(`
  0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0008 0001a147 e112a643
  0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  8028 0004 c07d4c96`);
// RFC 5769 §2.3 Sample IPv6 Response (2001:db8:1234:5678:11:2233:4455:6677 port 32853).
const RESPONSE6 = hex(`
  0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  8028 0004 c8fb0b4c`);

function attrs(buf: Buffer): StunAttributes {
  const m = new StunMessage();
  expect(parseStun(buf, m)).to.equal(null);
  const a = new StunAttributes();
  expect(readStunAttributes(buf, a)).to.equal(null);
  return a;
}

describe('STUN integrity and fingerprint (RFC 5769 vectors)', () => {
  it('CRC-32 is the ISO/zlib one ("123456789" → cbf43926)', () => {
    expect(crc32(Buffer.from('123456789'), 0, 9)).to.equal(0xcbf43926);
  });

  for (const [name, msg] of [['request §2.1', REQUEST], ['IPv4 response §2.2', RESPONSE4], ['IPv6 response §2.3', RESPONSE6]] as const) {
    it(`verifies MESSAGE-INTEGRITY and FINGERPRINT of the ${name}`, () => {
      const a = attrs(msg);
      expect(a.integrityOffset).to.be.greaterThan(0);
      expect(a.fingerprintOffset).to.equal(msg.length - 8);
      expect(stunFingerprintOk(msg, a.fingerprintOffset)).to.equal(true);
      expect(stunIntegrityOk(msg, a.integrityOffset, PASSWORD)).to.equal(true);
      expect(stunIntegrityOk(msg, a.integrityOffset, Buffer.from('VOkJxbRl1RmTxUk/WvJxBu'))).to.equal(false);
    });
  }

  it('reads the ICE attributes of the sample request', () => {
    const a = attrs(REQUEST);
    expect(REQUEST.toString('utf8', a.usernameOffset + 4, a.usernameOffset + 4 + a.usernameLength)).to.equal('evtj:h6vY');
    expect(a.priority).to.equal(0x6e0001ff);
    expect(a.controlled).to.equal(true);
    expect(a.controlling).to.equal(false);
    expect(a.useCandidate).to.equal(false);
  });

  it('every single-bit flip in the request fails the fingerprint or the integrity check', () => {
    for (let i = 0; i < REQUEST.length * 8; i++) {
      const m = Buffer.from(REQUEST);
      m[i >> 3] ^= 1 << (i & 7);
      const msg = new StunMessage();
      const a = new StunAttributes();
      const ok =
        parseStun(m, msg) === null &&
        readStunAttributes(m, a) === null &&
        a.fingerprintOffset >= 0 && stunFingerprintOk(m, a.fingerprintOffset) &&
        a.integrityOffset >= 0 && stunIntegrityOk(m, a.integrityOffset, PASSWORD);
      expect(ok, `bit ${i}`).to.equal(false);
    }
  });

  it('rejects FINGERPRINT that is not last and attributes of the wrong size', () => {
    const a = new StunAttributes();
    // FINGERPRINT followed by another attribute.
    const notLast = Buffer.concat([REQUEST, hex('0024 0004 00000000')]);
    notLast.writeUInt16BE(notLast.length - 20, 2);
    expect(readStunAttributes(notLast, a)).to.equal(StunDrop.BadAttribute);
    // MESSAGE-INTEGRITY of 16 bytes.
    const shortMi = hex('0001 0014 2112a442 000000000000000000000000 0008 0010 00000000000000000000000000000000');
    expect(parseStun(shortMi, new StunMessage())).to.equal(null);
    expect(readStunAttributes(shortMi, a)).to.equal(StunDrop.BadAttribute);
    // USERNAME of 0 bytes, PRIORITY of 2 bytes.
    expect(readStunAttributes(hex('0001 0004 2112a442 000000000000000000000000 0006 0000'), a)).to.equal(StunDrop.BadAttribute);
    expect(readStunAttributes(hex('0001 0008 2112a442 000000000000000000000000 0024 0002 00000000'), a)).to.equal(StunDrop.BadAttribute);
    // Truncated: an attribute header announcing more than is there.
    expect(readStunAttributes(hex('0001 0008 2112a442 000000000000000000000000 0006 0020 61626364'), a)).to.equal(StunDrop.AttributeOverrun);
  });

  it('writes an ICE Binding Success Response: XOR-MAPPED-ADDRESS as in RFC 5769 §2.2, integrity with the key, fingerprint', () => {
    const out = Buffer.alloc(128);
    const n = writeIceBindingSuccess(REQUEST, '192.0.2.1', 32853, 4, PASSWORD, out);
    expect(n).to.equal(iceBindingSuccessSize(4)).and.to.equal(64);
    const r = out.subarray(0, n);
    expect(r.readUInt16BE(0)).to.equal(STUN_BINDING_SUCCESS);
    expect(r.readUInt16BE(2)).to.equal(n - 20);
    expect(r.subarray(8, 20)).to.deep.equal(REQUEST.subarray(8, 20));
    // The same XOR-MAPPED-ADDRESS attribute bytes as the RFC's response.
    expect(r.subarray(20, 32)).to.deep.equal(RESPONSE4.subarray(36, 48));
    expect(readXorMappedAddress(r)).to.deep.equal({ family: 4, address: '192.0.2.1', port: 32853 });
    const a = attrs(r);
    expect(a.integrityOffset).to.equal(32);
    expect(stunIntegrityOk(r, a.integrityOffset, PASSWORD)).to.equal(true);
    expect(stunFingerprintOk(r, a.fingerprintOffset)).to.equal(true);
    // Independently: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY with the length covering it.
    const head = Buffer.from(r.subarray(0, 32));
    head.writeUInt16BE(32 + 24 - 20, 2);
    expect(r.subarray(36, 56)).to.deep.equal(createHmac('sha1', PASSWORD).update(head).digest());
    const v6 = Buffer.alloc(128);
    const n6 = writeIceBindingSuccess(REQUEST, '2001:db8:1234:5678:11:2233:4455:6677', 32853, 6, PASSWORD, v6);
    expect(n6).to.equal(76);
    expect(v6.subarray(20, 44)).to.deep.equal(RESPONSE6.subarray(36, 60));
  });

  it('encodeIceCheck builds a check that the verifiers accept, and never more than the buffer holds', () => {
    const check = encodeIceCheck({ transactionId: Buffer.alloc(12, 7), username: 'abcd:efgh', password: 'p'.repeat(22), useCandidate: true });
    const a = attrs(check);
    expect(a.useCandidate).to.equal(true);
    expect(a.controlling).to.equal(true);
    expect(stunFingerprintOk(check, a.fingerprintOffset)).to.equal(true);
    expect(stunIntegrityOk(check, a.integrityOffset, Buffer.from('p'.repeat(22)))).to.equal(true);
    expect(writeIceBindingSuccess(check, '192.0.2.1', 1, 4, PASSWORD, Buffer.alloc(63))).to.equal(0);
  });

  it(`never throws on ${FUZZ_COUNT} mutated requests`, function () {
    this.timeout(60_000);
    const a = new StunAttributes();
    const m = new StunMessage();
    forEachFuzzInput(0x5eed1ce0, FUZZ_COUNT, [REQUEST, RESPONSE4, RESPONSE6], (buf) => {
      if (parseStun(buf, m) !== null) return;
      if (readStunAttributes(buf, a) !== null) return;
      if (a.fingerprintOffset >= 0) stunFingerprintOk(buf, a.fingerprintOffset);
      if (a.integrityOffset >= 0) stunIntegrityOk(buf, a.integrityOffset, PASSWORD);
    });
  });
});
