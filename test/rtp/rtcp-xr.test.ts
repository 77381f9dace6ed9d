import { expect } from 'chai';
import { describe, it } from 'mocha';
import { readXrVoipMetrics, XR_VOIP_BLOCK_BYTES, type XrVoip } from '../../src/rtp/rtcp-xr.js';

/** An XR packet (RFC 3611 §2): header, reporter SSRC, then the given blocks. */
function xrPacket(...blocks: Buffer[]): Buffer {
  const body = Buffer.concat(blocks);
  const head = Buffer.from([0x80, 207, 0, 0, 0x11, 0x22, 0x33, 0x44]);
  head.writeUInt16BE((8 + body.length) / 4 - 1, 2);
  return Buffer.concat([head, body]);
}

/** A VoIP Metrics block (RFC 3611 §4.7): BT 7, block length 8, SSRC of source, loss rate, …, round-trip delay at +12 of the body. */
function voipBlock(lossRate: number, rttMs: number): Buffer {
  const b = Buffer.alloc(XR_VOIP_BLOCK_BYTES);
  b[0] = 7;
  b.writeUInt16BE(8, 2);
  b.writeUInt32BE(0xaabbccdd, 4);
  b[8] = lossRate;
  b[9] = 3; // discard rate: not read
  b.writeUInt16BE(rttMs, 16);
  return b;
}

describe('rtp/rtcp-xr: VoIP Metrics (RFC 3611 §4.7)', () => {
  const out = (): XrVoip => ({ lossRate: -1, roundTripMs: -1 });

  it('reads loss rate and round-trip delay of the VoIP Metrics block, after a block of another type', () => {
    const other = Buffer.from([4, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]); // BT 4 (receiver reference time), 3 words
    const pkt = xrPacket(other, voipBlock(26, 87));
    expect(readXrVoipMetrics(pkt, 0, pkt.length, out())).to.deep.equal({ lossRate: 26, roundTripMs: 87 });
  });

  it('golden bytes: the block at a known offset inside a compound', () => {
    const rr = Buffer.from('80c90001deadbeef', 'hex');
    const pkt = Buffer.concat([rr, xrPacket(voipBlock(0x80, 0x0102))]);
    expect(pkt.subarray(8, 16).toString('hex')).to.equal('80cf000a11223344');
    expect(readXrVoipMetrics(pkt, 8, pkt.length - 8, out())).to.deep.equal({ lossRate: 128, roundTripMs: 258 });
  });

  it('null without a VoIP Metrics block, for a truncated one, and within bounds for a forged block length', () => {
    const other = Buffer.from([4, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(readXrVoipMetrics(xrPacket(other), 0, 20, out())).to.equal(null);
    const pkt = xrPacket(voipBlock(1, 2));
    expect(readXrVoipMetrics(pkt, 0, pkt.length - 4, out()), 'the packet ends inside the block').to.equal(null);
    const forged = xrPacket(Buffer.from([7, 0, 0xff, 0xff]));
    expect(readXrVoipMetrics(forged, 0, forged.length, out())).to.equal(null);
    // Zero-length blocks (length field 0 = 1 word) are walked at most 32 times.
    const tiny = xrPacket(...Array.from({ length: 40 }, () => Buffer.from([9, 0, 0, 0])), voipBlock(5, 6));
    expect(readXrVoipMetrics(tiny, 0, tiny.length, out()), 'past the block limit').to.equal(null);
  });
});
