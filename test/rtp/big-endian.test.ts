/** The one big-endian helper (src/rtp/big-endian.ts): golden bytes, round trips, values taken mod 2^bits. */
import { expect } from 'chai';
import { readU16, readU24, readU32, readU64, writeU16, writeU24, writeU32, writeU64 } from '../../src/rtp/big-endian.js';

describe('rtp/big-endian', () => {
  it('reads network order at an offset, from a Uint8Array or a Buffer', () => {
    const bytes = [0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
    for (const buf of [Uint8Array.from(bytes), Buffer.from(bytes)]) {
      expect(readU16(buf, 1)).to.equal(0x0102);
      expect(readU24(buf, 1)).to.equal(0x010203);
      expect(readU32(buf, 1)).to.equal(0x01020304);
      expect(readU32(buf, 0)).to.equal(0xff010203); // unsigned, not negative
      expect(readU64(buf, 1)).to.equal(0x0102030405060708n);
    }
  });

  it('writes what Buffer writes, and reads it back', () => {
    const ours = Buffer.alloc(20);
    const node = Buffer.alloc(20);
    writeU16(ours, 0, 0xbeef); node.writeUInt16BE(0xbeef, 0);
    writeU24(ours, 2, 0xabcdef); node.writeUIntBE(0xabcdef, 2, 3);
    writeU32(ours, 5, 0xdeadbeef); node.writeUInt32BE(0xdeadbeef, 5);
    writeU64(ours, 9, 0xfedcba9876543210n); node.writeBigUInt64BE(0xfedcba9876543210n, 9);
    expect(ours.toString('hex')).to.equal(node.toString('hex'));
    expect([readU16(ours, 0), readU24(ours, 2), readU32(ours, 5), readU64(ours, 9)]).to.deep.equal([0xbeef, 0xabcdef, 0xdeadbeef, 0xfedcba9876543210n]);
  });

  it('writes values modulo 2^bits (negative ones as two\'s complement)', () => {
    const b = new Uint8Array(8);
    writeU16(b, 0, 0x12345);
    expect(readU16(b, 0)).to.equal(0x2345);
    writeU32(b, 0, -1);
    expect(readU32(b, 0)).to.equal(0xffffffff);
    writeU32(b, 0, 2 ** 40 + 7);
    expect(readU32(b, 0)).to.equal(7);
    writeU64(b, 0, -2n);
    expect(readU64(b, 0)).to.equal(0xfffffffffffffffen);
  });
});
