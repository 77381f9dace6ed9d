import { expect } from 'chai';
import {
  RtpDrop,
  RtpHeader,
  encodeRtp,
  parseRtpHeader,
  rewriteRtpPayloadType,
  rtpHeaderSize,
  writeRtpHeader,
} from '../../src/rtp/rtp-header.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

// Golden packets written by hand from RFC 3550 §5.1 / §5.3.1 and RFC 6263.
const PCMU = Buffer.from([
  0x80, 0x00, 0x04, 0xd2, // V=2 P=0 X=0 CC=0 | M=0 PT=0 (PCMU) | seq 1234
  0x00, 0x00, 0x00, 0xa0, // timestamp 160
  0xca, 0x11, 0x00, 0x00, // SSRC 0xCA110000 (SIPp's)
  0xff, 0xff, 0x7f, 0x7f, // 4 payload bytes
]);

const FULL = Buffer.from([
  0xb2, 0xe0, 0xff, 0xff, // V=2 P=1 X=1 CC=2 | M=1 PT=96 | seq 65535
  0x12, 0x34, 0x56, 0x78, // timestamp 0x12345678
  0xde, 0xad, 0xbe, 0xef, // SSRC 0xDEADBEEF
  0x00, 0x00, 0x00, 0x01, // CSRC 1
  0x00, 0x00, 0x00, 0x02, // CSRC 2
  0xbe, 0xde, 0x00, 0x01, // extension profile 0xBEDE, length 1 word
  0x10, 0xaa, 0x00, 0x00, // extension data (one RFC 8285 element + padding)
  0x01, 0x02, 0x03,       // payload, 3 bytes
  0x00, 0x00, 0x03,       // padding: 2 zero bytes + count 3
]);

const KEEPALIVE = Buffer.from([
  0x80, 0x7f, 0x00, 0x01, // V=2, PT 127 (unused PT, RFC 6263 §4.1), seq 1
  0x00, 0x00, 0x00, 0x00, // timestamp 0
  0x12, 0x34, 0x56, 0x78, // SSRC 0x12345678
]);                       // no payload

describe('rtp/rtp-header', () => {
  const h = new RtpHeader();

  it('parses a plain PCMU packet', () => {
    expect(parseRtpHeader(PCMU, h)).to.equal(null);
    expect(h.version).to.equal(2);
    expect(h.padding).to.equal(false);
    expect(h.extension).to.equal(false);
    expect(h.marker).to.equal(false);
    expect(h.payloadType).to.equal(0);
    expect(h.sequenceNumber).to.equal(1234);
    expect(h.timestamp).to.equal(160);
    expect(h.ssrc).to.equal(0xca110000);
    expect(h.csrcCount).to.equal(0);
    expect(h.headerLength).to.equal(12);
    expect(h.payloadOffset).to.equal(12);
    expect(h.payloadLength).to.equal(4);
    expect(h.paddingLength).to.equal(0);
  });

  it('parses CSRCs, marker, extension and padding', () => {
    expect(parseRtpHeader(FULL, h)).to.equal(null);
    expect(h.padding).to.equal(true);
    expect(h.extension).to.equal(true);
    expect(h.marker).to.equal(true);
    expect(h.payloadType).to.equal(96);
    expect(h.sequenceNumber).to.equal(65535);
    expect(h.timestamp).to.equal(0x12345678);
    expect(h.ssrc).to.equal(0xdeadbeef);
    expect(h.csrcCount).to.equal(2);
    expect(Array.from(h.csrcs.subarray(0, 2))).to.deep.equal([1, 2]);
    expect(h.extensionProfile).to.equal(0xbede);
    expect(h.extensionOffset).to.equal(24);
    expect(h.extensionLength).to.equal(4);
    expect(h.headerLength).to.equal(28);
    expect(h.payloadOffset).to.equal(28);
    expect(h.payloadLength).to.equal(3);
    expect(h.paddingLength).to.equal(3);
  });

  it('parses an RFC 6263 keep-alive as an RTP packet with no payload', () => {
    expect(parseRtpHeader(KEEPALIVE, h)).to.equal(null);
    expect(h.payloadType).to.equal(127);
    expect(h.ssrc).to.equal(0x12345678);
    expect(h.payloadLength).to.equal(0);
  });

  it('parses at an offset (after a relay shim), with offsets absolute in the buffer', () => {
    const shimmed = Buffer.concat([Buffer.alloc(8, 0x52), FULL]);
    expect(parseRtpHeader(shimmed, h, 8)).to.equal(null);
    expect(h.payloadOffset).to.equal(36);
    expect(h.extensionOffset).to.equal(32);
    expect(h.payloadLength).to.equal(3);
    // An explicit length that cuts the packet: the padding count is then read from the cut.
    expect(parseRtpHeader(shimmed, h, 8, 12)).to.equal(RtpDrop.CsrcOverrun);
  });

  it('round-trips bytes → fields → bytes', () => {
    for (const pkt of [PCMU, FULL, KEEPALIVE]) {
      expect(parseRtpHeader(pkt, h)).to.equal(null);
      const again = encodeRtp(
        {
          payloadType: h.payloadType,
          sequenceNumber: h.sequenceNumber,
          timestamp: h.timestamp,
          ssrc: h.ssrc,
          marker: h.marker,
          csrcs: Array.from(h.csrcs.subarray(0, h.csrcCount)),
          extensionProfile: h.extensionProfile,
          extensionData: h.extension ? pkt.subarray(h.extensionOffset, h.extensionOffset + h.extensionLength) : undefined,
          paddingLength: h.paddingLength,
        },
        pkt.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength),
      );
      expect(again.toString('hex')).to.equal(pkt.toString('hex'));
      // writeRtpHeader from the parsed object reproduces the header bytes in place.
      const out = Buffer.alloc(rtpHeaderSize(h));
      expect(writeRtpHeader(h, out, 0, pkt.subarray(h.extensionOffset))).to.equal(h.headerLength);
      expect(out.toString('hex')).to.equal(pkt.subarray(0, h.headerLength).toString('hex'));
    }
  });

  it('writeRtpHeader refuses a too small buffer', () => {
    expect(parseRtpHeader(FULL, h)).to.equal(null);
    expect(writeRtpHeader(h, Buffer.alloc(27), 0)).to.equal(0);
    expect(writeRtpHeader(h, Buffer.alloc(40), 13)).to.equal(0);
  });

  it('rewrites the payload type and keeps the marker', () => {
    const pkt = Buffer.from(FULL);
    rewriteRtpPayloadType(pkt, 101);
    expect(pkt[1]).to.equal(0x80 | 101);
    const plain = Buffer.from(PCMU);
    rewriteRtpPayloadType(plain, 8);
    expect(plain[1]).to.equal(8);
  });

  const malformed: Array<[string, number[], RtpDrop]> = [
    ['empty datagram', [], RtpDrop.TooShort],
    ['11 bytes', [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], RtpDrop.TooShort],
    ['version 1', [0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], RtpDrop.BadVersion],
    ['version 0 (a STUN message)', [0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0], RtpDrop.BadVersion],
    ['version 3', [0xc0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], RtpDrop.BadVersion],
    ['CC=15 with no CSRCs', [0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], RtpDrop.CsrcOverrun],
    ['CC=1 with 3 CSRC bytes', [0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], RtpDrop.CsrcOverrun],
    ['X=1 without extension header', [0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde], RtpDrop.ExtensionOverrun],
    [
      'X=1 extension length 2 words, 1 present',
      [0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 2, 1, 2, 3, 4],
      RtpDrop.ExtensionOverrun,
    ],
    ['P=1 with padding count 0', [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0], RtpDrop.BadPadding],
    ['P=1 with padding longer than the payload', [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 3], RtpDrop.BadPadding],
    ['P=1 and no payload byte for the count', [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], RtpDrop.BadPadding],
  ];
  for (const [name, bytes, reason] of malformed) {
    it(`drops ${name} as ${reason}`, () => {
      expect(parseRtpHeader(Buffer.from(bytes), h)).to.equal(reason);
    });
  }

  it('accepts padding that takes the whole payload', () => {
    expect(parseRtpHeader(Buffer.from([0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]), h)).to.equal(null);
    expect(h.payloadLength).to.equal(0);
    expect(h.paddingLength).to.equal(2);
  });

  it('drop reasons are stable snake_case strings', () => {
    for (const v of Object.values(RtpDrop)) expect(v).to.match(/^rtp_[a-z_]+$/);
  });

  it(`never throws on ${FUZZ_COUNT} random, truncated and bit-flipped inputs, and stays in bounds`, function () {
    this.timeout(120_000);
    const reasons = new Set<string>(Object.values(RtpDrop));
    let ok = 0;
    let bad = 0;
    forEachFuzzInput(0x5eed0001, FUZZ_COUNT, [PCMU, FULL, KEEPALIVE], (buf) => {
      const r = parseRtpHeader(buf, h);
      if (r === null) {
        ok++;
        if (h.payloadOffset + h.payloadLength + h.paddingLength !== buf.length || h.payloadLength < 0) bad++;
      } else if (!reasons.has(r)) {
        bad++;
      }
    });
    expect(bad).to.equal(0);
    expect(ok).to.be.greaterThan(0);
  });
});
