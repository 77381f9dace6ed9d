import { expect } from 'chai';
import {
  RELAY_MAX_HOPS,
  RELAY_SHIM_SIZE,
  RelayMedium,
  RelayShim,
  RelayShimDrop,
  encodeRelayDatagram,
  isRelayShim,
  parseRelayShim,
  writeRelayShim,
} from '../../src/rtp/relay-shim.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

// Written by hand from SPEC §6.
const VIDEO_HOP3 = Buffer.from([
  0x52, 0x11, 0x03, 0x00, // 'R' | version 1, medium 1 (video) | hop count 3 | 0
  0xca, 0xfe, 0xba, 0xbe, // RELAY_ID 0xCAFEBABE
  0x80, 0x60, 0x00, 0x01, // inner RTP: V=2, PT 96, seq 1
  0x00, 0x00, 0x00, 0x00, //   timestamp 0
  0x00, 0x00, 0x00, 0x07, //   SSRC 7
]);
const AUDIO_HOP1 = Buffer.from([
  0x52, 0x10, 0x01, 0x00, // 'R' | version 1, medium 0 (audio) | hop count 1 | 0
  0x00, 0x00, 0x00, 0x01, // RELAY_ID 1
  0x80, 0xcb, 0x00, 0x00, // inner RTCP: BYE with SC=0
]);

describe('rtp/relay-shim', () => {
  const s = new RelayShim();

  it('parses the golden shims', () => {
    expect(parseRelayShim(VIDEO_HOP3, s)).to.equal(null);
    expect([s.medium, s.hopCount, s.relayId, s.payloadOffset, s.payloadLength]).to.deep.equal([RelayMedium.Video, 3, 0xcafebabe, 8, 12]);
    expect(parseRelayShim(AUDIO_HOP1, s)).to.equal(null);
    expect([s.medium, s.hopCount, s.relayId, s.payloadLength]).to.deep.equal([RelayMedium.Audio, 1, 1, 4]);
    expect(isRelayShim(VIDEO_HOP3)).to.equal(true);
    expect(isRelayShim(VIDEO_HOP3, 8)).to.equal(false);
  });

  it('round-trips bytes → fields → bytes, and rewrites in place', () => {
    parseRelayShim(VIDEO_HOP3, s);
    const again = encodeRelayDatagram(s.medium, s.hopCount, s.relayId, VIDEO_HOP3.subarray(s.payloadOffset));
    expect(again.toString('hex')).to.equal(VIDEO_HOP3.toString('hex'));
    const fwd = Buffer.from(VIDEO_HOP3);
    expect(writeRelayShim(s.medium, s.hopCount + 1, 0x01020304, fwd, 0)).to.equal(RELAY_SHIM_SIZE);
    expect(fwd.subarray(0, 8).toString('hex')).to.equal('5211040001020304');
    expect(fwd.subarray(8).equals(VIDEO_HOP3.subarray(8))).to.equal(true);
  });

  it('accepts the maximum hop count and parses at an offset', () => {
    const buf = Buffer.concat([Buffer.from([0xff, 0xff]), encodeRelayDatagram(RelayMedium.Audio, RELAY_MAX_HOPS, 0xffffffff, Buffer.from([0x80, 0, 0, 0]))]);
    expect(parseRelayShim(buf, s, 2)).to.equal(null);
    expect([s.hopCount, s.relayId, s.payloadOffset, s.payloadLength]).to.deep.equal([8, 0xffffffff, 10, 4]);
  });

  it('writeRelayShim refuses bad arguments and short buffers', () => {
    expect(writeRelayShim(RelayMedium.Audio, 1, 1, Buffer.alloc(7), 0)).to.equal(0);
    expect(writeRelayShim(RelayMedium.Audio, 1, 1, Buffer.alloc(8), 1)).to.equal(0);
    expect(writeRelayShim(RelayMedium.Audio, 0, 1, Buffer.alloc(8), 0)).to.equal(0);
    expect(writeRelayShim(RelayMedium.Audio, 1, 2 ** 32, Buffer.alloc(8), 0)).to.equal(0);
    expect(writeRelayShim(RelayMedium.Audio, 1, -1, Buffer.alloc(8), 0)).to.equal(0);
  });

  const base = [0x52, 0x10, 0x01, 0x00, 0, 0, 0, 1, 0x80, 0xcb, 0x00, 0x00];
  const w = (i: number, v: number): number[] => base.map((b, j) => (j === i ? v : b));
  const malformed: Array<[string, number[], RelayShimDrop]> = [
    ['7 bytes', base.slice(0, 7), RelayShimDrop.TooShort],
    ['an RTCP packet (0x80)', w(0, 0x80), RelayShimDrop.BadMagic],
    ['version 0', w(1, 0x00), RelayShimDrop.BadVersion],
    ['version 4', w(1, 0x40), RelayShimDrop.BadVersion],
    ['medium 2', w(1, 0x12), RelayShimDrop.BadMedium],
    ['hop count 0', w(2, 0), RelayShimDrop.BadHopCount],
    ['hop count 9', w(2, 9), RelayShimDrop.HopLimit],
    ['hop count 255', w(2, 255), RelayShimDrop.HopLimit],
    ['non-zero byte 3', w(3, 1), RelayShimDrop.BadReserved],
    ['a shim with no packet', base.slice(0, 8), RelayShimDrop.Empty],
  ];
  for (const [name, bytes, reason] of malformed) {
    it(`drops ${name} as ${reason}`, () => {
      expect(parseRelayShim(Buffer.from(bytes), s)).to.equal(reason);
    });
  }

  it(`never throws on ${FUZZ_COUNT} random, truncated and bit-flipped inputs`, function () {
    this.timeout(120_000);
    let ok = 0;
    let bad = 0;
    forEachFuzzInput(0x5eed0004, FUZZ_COUNT, [VIDEO_HOP3, AUDIO_HOP1], (buf) => {
      if (parseRelayShim(buf, s) === null) {
        ok++;
        if (s.hopCount < 1 || s.hopCount > RELAY_MAX_HOPS || s.payloadOffset + s.payloadLength !== buf.length) bad++;
      }
    });
    expect(bad).to.equal(0);
    expect(ok).to.be.greaterThan(100);
  });
});
