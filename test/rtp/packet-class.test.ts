import { expect } from 'chai';
import {
  hasRtpFixedHeader,
  isVersion2,
  looksLikeStun,
  rtpMarkerAndPayloadType,
  rtpPayloadType,
  rtpSsrc,
} from '../../src/rtp/packet-class.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

// Golden packets written by hand from RFC 3550 §5.1 and RFC 5389 §6.
const RTP_MARKED = Buffer.from([
  0x80, 0xe0, 0x00, 0x01, // V=2 P=0 X=0 CC=0 | M=1 PT=96 | seq 1
  0x00, 0x00, 0x00, 0xa0, // timestamp 160
  0xde, 0xad, 0xbe, 0xef, // SSRC 0xDEADBEEF
]);
const STUN_BINDING = Buffer.from([
  0x00, 0x01, 0x00, 0x00, // Binding Request, length 0
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // transaction ID
]);

describe('rtp/packet-class: datagram class and in-place RTP fields', () => {
  it('tells STUN by its first byte 0–3 (RFC 7983 §7)', () => {
    expect(looksLikeStun(STUN_BINDING)).to.equal(true);
    expect(looksLikeStun(Buffer.from([3]))).to.equal(true);
    expect(looksLikeStun(Buffer.from([4]))).to.equal(false);
    expect(looksLikeStun(RTP_MARKED)).to.equal(false);
    expect(looksLikeStun(Buffer.alloc(0))).to.equal(false);
  });

  it('checks the version field (V=2) and the fixed header size', () => {
    expect(isVersion2(RTP_MARKED)).to.equal(true);
    expect(isVersion2(Buffer.from([0x40]))).to.equal(false); // V=1
    expect(isVersion2(Buffer.alloc(0))).to.equal(false);
    expect(hasRtpFixedHeader(RTP_MARKED)).to.equal(true);
    expect(hasRtpFixedHeader(RTP_MARKED.subarray(0, 11))).to.equal(false);
    expect(hasRtpFixedHeader(STUN_BINDING)).to.equal(false);
  });

  it('reads PT without the marker, the second byte with it, and the SSRC', () => {
    expect(rtpPayloadType(RTP_MARKED)).to.equal(96);
    expect(rtpMarkerAndPayloadType(RTP_MARKED)).to.equal(0xe0);
    expect(rtpSsrc(RTP_MARKED)).to.equal(0xdeadbeef);
    expect(rtpSsrc(RTP_MARKED.subarray(0, 11))).to.equal(-1);
    expect(rtpSsrc(STUN_BINDING)).to.equal(-1);
  });

  it(`random input never throws (${FUZZ_COUNT} inputs)`, () => {
    forEachFuzzInput(0x5eed0c1a, FUZZ_COUNT, [RTP_MARKED, STUN_BINDING], (buf) => {
      looksLikeStun(buf);
      isVersion2(buf);
      const ssrc = rtpSsrc(buf);
      expect(ssrc).to.be.within(-1, 0xffffffff);
      if (hasRtpFixedHeader(buf)) expect(rtpPayloadType(buf)).to.be.within(0, 127);
    });
  });
});
