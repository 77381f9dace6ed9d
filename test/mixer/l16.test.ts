import { expect } from 'chai';
import { decodeL16, encodeL16 } from '../../src/mixer/l16.js';

describe('mixer/l16', () => {
  it('writes samples big-endian (network order)', () => {
    const out = new Uint8Array(10);
    expect(encodeL16(Int16Array.from([0x0102, -2, 32767, -32768]), 4, out, 1)).to.equal(8);
    expect(Array.from(out)).to.deep.equal([0, 0x01, 0x02, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0x00, 0]);
  });

  it('reads big-endian samples with sign', () => {
    const bytes = Uint8Array.from([9, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x00]);
    const out = new Int16Array(4);
    expect(decodeL16(bytes, 1, 6, out, 1)).to.equal(3);
    expect(Array.from(out)).to.deep.equal([0, 0x0102, -2, -32768]);
  });

  it('ignores a trailing odd byte and takes the first channel of stereo', () => {
    const out = new Int16Array(2);
    expect(decodeL16(Uint8Array.from([0, 1, 2]), 0, 3, out, 0)).to.equal(1);
    expect(out[0]).to.equal(1);
    expect(decodeL16(Uint8Array.from([0, 5, 0, 6, 0, 7, 0, 8]), 0, 8, out, 0, 2)).to.equal(2);
    expect(Array.from(out)).to.deep.equal([5, 7]);
  });

  it('round-trips every 16-bit value', () => {
    const pcm = new Int16Array(65536);
    for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
    const bytes = new Uint8Array(131072);
    encodeL16(pcm, pcm.length, bytes, 0);
    const back = new Int16Array(65536);
    decodeL16(bytes, 0, bytes.length, back, 0);
    expect(Buffer.from(back.buffer).equals(Buffer.from(pcm.buffer))).to.equal(true);
  });
});
