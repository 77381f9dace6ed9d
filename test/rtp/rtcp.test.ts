import { expect } from 'chai';
import { RtcpApp, RtcpAppDrop, appSize, encodeApp, parseApp, writeApp } from '../../src/rtp/rtcp-app.js';
import { RtcpBye, RtcpByeDrop, byeSize, encodeBye, parseBye, writeBye } from '../../src/rtp/rtcp-bye.js';
import {
  RtcpCompoundReader,
  RtcpDrop,
  RtcpPacketType,
  RtcpPacketView,
  looksLikeRtcp,
  rtcpSenderSsrc,
  validateRtcpCompound,
} from '../../src/rtp/rtcp-compound.js';
import {
  RtcpReceiverReport,
  RtcpRrDrop,
  encodeReceiverReport,
  parseReceiverReport,
  receiverReportSize,
  writeReceiverReport,
} from '../../src/rtp/rtcp-rr.js';
import {
  RtcpSdesDrop,
  SdesItemView,
  SdesReader,
  SdesType,
  encodeSdes,
  readSdesCname,
  readSdesName,
  readSdesText,
  sdesSize,
  validateSdes,
  writeSdes,
  type SdesChunkInit,
} from '../../src/rtp/rtcp-sdes.js';
import {
  RtcpSenderReport,
  RtcpSrDrop,
  encodeSenderReport,
  ntpFromUnixMs,
  ntpMiddle32,
  parseSenderReport,
  senderReportSize,
  writeSenderReport,
} from '../../src/rtp/rtcp-sr.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

// Golden packets written by hand from RFC 3550 §6.4–§6.7.
const SR = [
  0x81, 0xc8, 0x00, 0x0c, // V=2 P=0 RC=1 | PT=200 (SR) | length 12 → 52 bytes
  0x11, 0x22, 0x33, 0x44, // SSRC of sender
  0xe7, 0x00, 0x00, 0x00, // NTP timestamp, seconds 0xE7000000
  0x80, 0x00, 0x00, 0x00, // NTP timestamp, fraction 0.5
  0x00, 0x00, 0x03, 0x20, // RTP timestamp 800
  0x00, 0x00, 0x00, 0x0a, // sender's packet count 10
  0x00, 0x00, 0x06, 0x40, // sender's octet count 1600
  0x55, 0x66, 0x77, 0x88, // report block 1: SSRC_1
  0x40, 0xff, 0xff, 0xfe, // fraction lost 64/256 | cumulative lost −2 (24-bit two's complement)
  0x00, 0x01, 0x00, 0x05, // extended highest seq: 1 cycle, seq 5
  0x00, 0x00, 0x00, 0x20, // interarrival jitter 32
  0xe6, 0xff, 0x80, 0x00, // LSR
  0x00, 0x01, 0x00, 0x00, // DLSR 1 s (units of 1/65536 s)
];
const SDES = [
  0x81, 0xca, 0x00, 0x04, // V=2 P=0 SC=1 | PT=202 (SDES) | length 4 → 20 bytes
  0x11, 0x22, 0x33, 0x44, // chunk 1: SSRC
  0x01, 0x03, 0x61, 0x40, // CNAME, length 3, "a@"
  0x62, 0x02, 0x03, 0x41, // "b" | NAME, length 3, "A"
  0x6e, 0x6e, 0x00, 0x00, // "nn" | END | null pad to the word
];
const BYE = [
  0x81, 0xcb, 0x00, 0x02, // V=2 P=0 SC=1 | PT=203 (BYE) | length 2 → 12 bytes
  0x11, 0x22, 0x33, 0x44, // SSRC
  0x03, 0x62, 0x79, 0x65, // reason length 3, "bye"
];
const APP = [
  0x83, 0xcc, 0x00, 0x03, // V=2 P=0 subtype 3 | PT=204 (APP) | length 3 → 16 bytes
  0x11, 0x22, 0x33, 0x44, // SSRC
  0x54, 0x45, 0x53, 0x54, // name "TEST"
  0xde, 0xad, 0xbe, 0xef, // application data
];
const RR_PADDED = [
  0xa0, 0xc9, 0x00, 0x02, // V=2 P=1 RC=0 | PT=201 (RR) | length 2 → 12 bytes
  0x99, 0x88, 0x77, 0x66, // SSRC of packet sender
  0x00, 0x00, 0x00, 0x04, // padding: 3 nulls + count 4
];
const RR_ONE = [
  0x81, 0xc9, 0x00, 0x07, // V=2 P=0 RC=1 | PT=201 (RR) | length 7 → 32 bytes
  0x99, 0x88, 0x77, 0x66, // SSRC of packet sender
  0x11, 0x22, 0x33, 0x44, // SSRC_1
  0x00, 0x00, 0x00, 0x03, // fraction 0 | cumulative lost 3
  0x00, 0x00, 0xff, 0xff, // extended highest seq 65535
  0x00, 0x00, 0x00, 0x00, // jitter 0
  0x00, 0x00, 0x00, 0x00, // LSR 0 (no SR yet)
  0x00, 0x00, 0x00, 0x00, // DLSR 0
];
const COMPOUND = Buffer.from([...SR, ...SDES, ...BYE, ...APP]);

function views(buf: Buffer): RtcpPacketView[] {
  const reader = new RtcpCompoundReader().reset(buf);
  const out: RtcpPacketView[] = [];
  for (let i = 0; i < 64; i++) {
    const v = new RtcpPacketView();
    const r = reader.next(v);
    if (r === 'end') return out;
    if (r !== null) throw new Error(r);
    out.push(v);
  }
  throw new Error('walker did not end');
}

describe('rtp/rtcp-compound', () => {
  it('walks a compound SR+SDES+BYE+APP', () => {
    const v = views(COMPOUND);
    expect(v.map((x) => [x.packetType, x.count, x.offset, x.length, x.padding])).to.deep.equal([
      [200, 1, 0, 52, 0],
      [202, 1, 52, 20, 0],
      [203, 1, 72, 12, 0],
      [204, 3, 84, 16, 0],
    ]);
    expect(validateRtcpCompound(COMPOUND)).to.equal(null);
    expect(rtcpSenderSsrc(COMPOUND)).to.equal(0x11223344);
    expect(looksLikeRtcp(COMPOUND)).to.equal(true);
    expect(looksLikeRtcp(Buffer.from([0x80, 0x00]))).to.equal(false);
  });

  it('walks at an offset (after a relay shim) and accepts padding on the last packet', () => {
    const buf = Buffer.from([0x52, 0x10, 1, 0, 0, 0, 0, 7, ...RR_ONE, ...RR_PADDED]);
    const reader = new RtcpCompoundReader().reset(buf, 8);
    const v = new RtcpPacketView();
    expect(reader.next(v)).to.equal(null);
    expect([v.packetType, v.offset, v.length]).to.deep.equal([201, 8, 32]);
    expect(reader.next(v)).to.equal(null);
    expect([v.packetType, v.offset, v.length, v.padding]).to.deep.equal([201, 40, 12, 4]);
    expect(reader.next(v)).to.equal('end');
    expect(rtcpSenderSsrc(buf, 8)).to.equal(0x99887766);
  });

  it('rtcpSenderSsrc is -1 without a sender word', () => {
    expect(rtcpSenderSsrc(Buffer.from([0x80, 0xcb, 0x00, 0x00]))).to.equal(-1); // BYE SC=0
    expect(rtcpSenderSsrc(Buffer.from([0x80, 0xcb, 0x00, 0x00, 1, 2, 3, 4]))).to.equal(-1);
    expect(rtcpSenderSsrc(Buffer.from([0x40, 0xc8, 0x00, 0x01, 1, 2, 3, 4]))).to.equal(-1);
    expect(rtcpSenderSsrc(Buffer.from([0x80, 0xc8]))).to.equal(-1);
  });

  const malformed: Array<[string, number[], RtcpDrop]> = [
    ['3 bytes', [0x80, 0xc9, 0x00], RtcpDrop.TooShort],
    ['version 1', [0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 0], RtcpDrop.BadVersion],
    ['length beyond the datagram', [0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 0], RtcpDrop.LengthOverrun],
    ['2 trailing bytes after a packet', [...RR_ONE, 0x80, 0xc9], RtcpDrop.TooShort],
    ['padding on a packet that is not last', [...RR_PADDED, ...RR_ONE], RtcpDrop.PaddingNotLast],
    ['padding count 0', [0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0], RtcpDrop.BadPadding],
    ['padding count larger than the body', [0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 9], RtcpDrop.BadPadding],
    ['second packet of version 0', [...BYE, 0x00, 0xc9, 0x00, 0x00], RtcpDrop.BadVersion],
  ];
  for (const [name, bytes, reason] of malformed) {
    it(`drops ${name} as ${reason}`, () => {
      expect(validateRtcpCompound(Buffer.from(bytes))).to.equal(reason);
    });
  }

  it('stops after a drop', () => {
    const reader = new RtcpCompoundReader().reset(Buffer.from([...BYE, 0x40, 0, 0, 0, ...BYE]));
    const v = new RtcpPacketView();
    expect(reader.next(v)).to.equal(null);
    expect(reader.next(v)).to.equal(RtcpDrop.BadVersion);
    expect(reader.next(v)).to.equal('end');
  });
});

describe('rtp/rtcp-sr and rtcp-rr', () => {
  it('parses the golden SR with its report block', () => {
    const buf = Buffer.from(SR);
    const [v] = views(buf);
    const sr = new RtcpSenderReport();
    expect(parseSenderReport(buf, v, sr)).to.equal(null);
    expect(sr.ssrc).to.equal(0x11223344);
    expect(sr.ntpSec).to.equal(0xe7000000);
    expect(sr.ntpFrac).to.equal(0x80000000);
    expect(sr.rtpTimestamp).to.equal(800);
    expect(sr.packetCount).to.equal(10);
    expect(sr.octetCount).to.equal(1600);
    expect(sr.reportCount).to.equal(1);
    const rb = sr.reports[0];
    expect([rb.ssrc, rb.fractionLost, rb.packetsLost, rb.highestSeq, rb.jitter, rb.lastSr, rb.delaySinceLastSr]).to.deep.equal([
      0x55667788, 64, -2, 0x10005, 32, 0xe6ff8000, 0x10000,
    ]);
    expect(sr.extensionLength).to.equal(0);
    // Round trip: fields → bytes.
    expect(encodeSenderReport(sr).toString('hex')).to.equal(buf.toString('hex'));
  });

  it('parses the golden RRs and round-trips them', () => {
    const rr = new RtcpReceiverReport();
    for (const bytes of [RR_ONE, RR_PADDED]) {
      const buf = Buffer.from(bytes);
      const [v] = views(buf);
      expect(parseReceiverReport(buf, v, rr)).to.equal(null);
      expect(rr.ssrc).to.equal(0x99887766);
      expect(rr.extensionLength).to.equal(0);
    }
    const buf = Buffer.from(RR_ONE);
    parseReceiverReport(buf, views(buf)[0], rr);
    expect(rr.reportCount).to.equal(1);
    expect(rr.reports[0].packetsLost).to.equal(3);
    expect(rr.reports[0].highestSeq).to.equal(65535);
    expect(encodeReceiverReport(rr).toString('hex')).to.equal(buf.toString('hex'));
  });

  it('keeps profile-specific extensions as offset/length', () => {
    const buf = Buffer.from([0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd]);
    const rr = new RtcpReceiverReport();
    expect(parseReceiverReport(buf, views(buf)[0], rr)).to.equal(null);
    expect([rr.extensionOffset, rr.extensionLength]).to.deep.equal([8, 4]);
  });

  it('drops reports shorter than their count', () => {
    const sr = new RtcpSenderReport();
    const rr = new RtcpReceiverReport();
    const srShort = Buffer.from([0x81, 0xc8, 0x00, 0x06, ...new Array<number>(24).fill(0)]); // RC=1, sender info only
    expect(parseSenderReport(srShort, views(srShort)[0], sr)).to.equal(RtcpSrDrop.TooShort);
    const rrShort = Buffer.from([0x82, 0xc9, 0x00, 0x07, ...RR_ONE.slice(4)]); // RC=2, one block
    expect(parseReceiverReport(rrShort, views(rrShort)[0], rr)).to.equal(RtcpRrDrop.TooShort);
    const rrPadEaten = Buffer.from([0xa1, 0xc9, 0x00, 0x07, ...RR_ONE.slice(4, 31), 0x04]); // padding eats the block
    expect(parseReceiverReport(rrPadEaten, views(rrPadEaten)[0], rr)).to.equal(RtcpRrDrop.TooShort);
    const bye = Buffer.from(BYE);
    expect(parseSenderReport(bye, views(bye)[0], sr)).to.equal(RtcpSrDrop.WrongType);
    expect(parseReceiverReport(bye, views(bye)[0], rr)).to.equal(RtcpRrDrop.WrongType);
  });

  it('converts Unix ms to NTP words and LSR', () => {
    const { ntpSec, ntpFrac } = ntpFromUnixMs(1_500);
    expect(ntpSec).to.equal(2208988801);
    expect(ntpFrac).to.equal(0x80000000);
    expect(ntpMiddle32(0xe7000001, 0x80000000)).to.equal(0x00018000);
  });
});

describe('rtp/rtcp-sdes', () => {
  const buf = Buffer.from(SDES);
  const [view] = views(buf);

  it('walks the golden SDES items', () => {
    const reader = new SdesReader().reset(buf, view);
    const item = new SdesItemView();
    const seen: Array<[number, number, string]> = [];
    let r;
    while ((r = reader.next(item)) === null) seen.push([item.ssrc, item.type, readSdesText(buf, item)]);
    expect(r).to.equal('end');
    expect(seen).to.deep.equal([
      [0x11223344, SdesType.CNAME, 'a@b'],
      [0x11223344, SdesType.NAME, 'Ann'],
    ]);
    expect(readSdesCname(buf, view)).to.equal('a@b');
    expect(readSdesName(buf, view)).to.equal('Ann');
    expect(readSdesName(buf, view, 0x11223344)).to.equal('Ann');
    expect(readSdesName(buf, view, 0x1)).to.equal(null);
  });

  it('reads items inside a compound packet', () => {
    const v = views(COMPOUND)[1];
    expect(readSdesCname(COMPOUND, v)).to.equal('a@b');
  });

  it('round-trips bytes → fields → bytes', () => {
    const reader = new SdesReader().reset(buf, view);
    const item = new SdesItemView();
    const chunks: SdesChunkInit[] = [{ ssrc: 0x11223344, items: [] }];
    const items: Array<{ type: number; text: string }> = [];
    while (reader.next(item) === null) items.push({ type: item.type, text: readSdesText(buf, item) });
    chunks[0] = { ssrc: 0x11223344, items };
    expect(encodeSdes(chunks).toString('hex')).to.equal(buf.toString('hex'));
  });

  it('encodes an empty chunk as SSRC + a null word and truncates long text on a character boundary', () => {
    expect(encodeSdes([{ ssrc: 7, items: [] }]).toString('hex')).to.equal('81ca0002' + '00000007' + '00000000');
    const long = encodeSdes([{ ssrc: 7, items: [{ type: SdesType.NAME, text: 'é'.repeat(200) }] }]);
    const [v] = views(long);
    expect(readSdesName(long, v)).to.equal('é'.repeat(127)); // 254 octets, not a split character
  });

  const malformed: Array<[string, number[], RtcpSdesDrop]> = [
    ['SC=2 with one chunk', [0x82, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0], RtcpSdesDrop.ChunkOverrun],
    ['item longer than the packet', [0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 0x61, 0x62], RtcpSdesDrop.ItemOverrun],
    ['item header cut by the end', [0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 0x61, 0x02], RtcpSdesDrop.ItemOverrun],
    ['items without END', [0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 0x61, 0x62], RtcpSdesDrop.MissingEnd],
    ['a BYE given as SDES', BYE, RtcpSdesDrop.WrongType],
  ];
  for (const [name, bytes, reason] of malformed) {
    it(`drops ${name} as ${reason}`, () => {
      const b = Buffer.from(bytes);
      expect(validateSdes(b, views(b)[0])).to.equal(reason);
      expect(readSdesCname(b, views(b)[0])).to.equal(null);
    });
  }
});

describe('rtp/rtcp-bye', () => {
  it('parses the golden BYE and its reason', () => {
    const buf = Buffer.from(BYE);
    const bye = new RtcpBye();
    expect(parseBye(buf, views(buf)[0], bye)).to.equal(null);
    expect(bye.count).to.equal(1);
    expect(bye.ssrcs[0]).to.equal(0x11223344);
    expect(buf.toString('utf8', bye.reasonOffset, bye.reasonOffset + bye.reasonLength)).to.equal('bye');
    expect(encodeBye([0x11223344], 'bye').toString('hex')).to.equal(buf.toString('hex'));
  });

  it('parses a BYE of two SSRCs without reason', () => {
    const buf = Buffer.from([
      0x82, 0xcb, 0x00, 0x02, // SC=2 | BYE | length 2
      0x00, 0x00, 0x00, 0x01, // SSRC 1
      0xff, 0xff, 0xff, 0xff, // SSRC 0xFFFFFFFF
    ]);
    const bye = new RtcpBye();
    expect(parseBye(buf, views(buf)[0], bye)).to.equal(null);
    expect(Array.from(bye.ssrcs.subarray(0, bye.count))).to.deep.equal([1, 0xffffffff]);
    expect(bye.reasonLength, 'no reason').to.equal(-1);
    expect(encodeBye([1, 0xffffffff]).toString('hex')).to.equal(buf.toString('hex'));
  });

  it('drops short BYEs', () => {
    const bye = new RtcpBye();
    const short = Buffer.from([0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1]);
    expect(parseBye(short, views(short)[0], bye)).to.equal(RtcpByeDrop.TooShort);
    const overrun = Buffer.from([0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x0a, 0x61, 0x62, 0x63]);
    expect(parseBye(overrun, views(overrun)[0], bye)).to.equal(RtcpByeDrop.ReasonOverrun);
    const app = Buffer.from(APP);
    expect(parseBye(app, views(app)[0], bye)).to.equal(RtcpByeDrop.WrongType);
  });
});

describe('rtp/rtcp-app', () => {
  it('parses the golden APP and round-trips it', () => {
    const buf = Buffer.from(APP);
    const app = new RtcpApp();
    expect(parseApp(buf, views(buf)[0], app)).to.equal(null);
    expect([app.subtype, app.ssrc, app.name, app.dataOffset, app.dataLength]).to.deep.equal([3, 0x11223344, 0x54455354, 12, 4]);
    const data = buf.subarray(app.dataOffset, app.dataOffset + app.dataLength);
    expect(encodeApp({ subtype: 3, ssrc: 0x11223344, name: 'TEST', data }).toString('hex')).to.equal(buf.toString('hex'));
  });

  it('drops an APP without a name', () => {
    const buf = Buffer.from([0x80, 0xcc, 0x00, 0x01, 0, 0, 0, 1]);
    expect(parseApp(buf, views(buf)[0], new RtcpApp())).to.equal(RtcpAppDrop.TooShort);
    const sr = Buffer.from(SR);
    expect(parseApp(sr, views(sr)[0], new RtcpApp())).to.equal(RtcpAppDrop.WrongType);
  });
});

describe('rtp/rtcp writers', () => {
  it('write a whole compound SR+SDES+BYE+APP into one buffer at offsets', () => {
    const sr = new RtcpSenderReport();
    parseSenderReport(COMPOUND, views(COMPOUND)[0], sr);
    const chunks = [{ ssrc: 0x11223344, items: [{ type: SdesType.CNAME, text: 'a@b' }, { type: SdesType.NAME, text: 'Ann' }] }];
    const app = { subtype: 3, ssrc: 0x11223344, name: 0x54455354, data: Buffer.from([0xde, 0xad, 0xbe, 0xef]) };
    const total = senderReportSize(sr) + sdesSize(chunks) + byeSize([0x11223344], 'bye') + appSize(app);
    const out = Buffer.alloc(total + 2, 0xee);
    let pos = 2;
    pos += writeSenderReport(sr, out, pos);
    pos += writeSdes(chunks, out, pos);
    pos += writeBye([0x11223344], 'bye', out, pos);
    pos += writeApp(app, out, pos);
    expect(pos).to.equal(total + 2);
    expect(out.subarray(2).toString('hex')).to.equal(COMPOUND.toString('hex'));
  });

  it('return 0 and write nothing when the buffer is too small or a value is out of range; encoders throw there', () => {
    const sr = new RtcpSenderReport();
    parseSenderReport(COMPOUND, views(COMPOUND)[0], sr);
    const chunks = [{ ssrc: 1, items: [{ type: SdesType.CNAME, text: 'a@b' }] }];
    const app = { subtype: 3, ssrc: 1, name: 'TEST', data: Buffer.from([1, 2, 3, 4]) };
    const rr = { ssrc: 1, reports: sr.reports, reportCount: 1 };
    const writers: [string, number, (out: Buffer, at: number) => number][] = [
      ['SR', senderReportSize(sr), (out, at) => writeSenderReport(sr, out, at)],
      ['RR', receiverReportSize(rr), (out, at) => writeReceiverReport(rr, out, at)],
      ['SDES', sdesSize(chunks), (out, at) => writeSdes(chunks, out, at)],
      ['BYE', byeSize([1], 'bye'), (out, at) => writeBye([1], 'bye', out, at)],
      ['APP', appSize(app), (out, at) => writeApp(app, out, at)],
    ];
    for (const [name, size, write] of writers) {
      const fit = Buffer.alloc(size + 1, 0xee);
      expect(write(fit, 1), name).to.equal(size);
      const short = Buffer.alloc(size + 1, 0xee);
      expect(write(short, 2), `${name} one byte short`).to.equal(0);
      expect(write(short, -1), `${name} at -1`).to.equal(0);
      expect(short.every((b) => b === 0xee), `${name} wrote nothing`).to.equal(true);
    }
    const many = Array.from({ length: 32 }, (_, i) => i + 1);
    const out = Buffer.alloc(2048, 0xee);
    const blocks = Array.from({ length: 32 }, () => sr.reports[0]);
    const info = { ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6 };
    expect(senderReportSize({ ...info, reports: blocks })).to.equal(0);
    expect(writeSenderReport({ ...info, reports: blocks }, out, 0)).to.equal(0);
    expect(writeSenderReport({ ...info, reports: [sr.reports[0]], reportCount: 2 }, out, 0), 'reportCount past the blocks given').to.equal(0);
    expect(writeReceiverReport({ ssrc: 1, reports: blocks }, out, 0)).to.equal(0);
    expect(writeSdes(many.map((ssrc) => ({ ssrc, items: [] })), out, 0)).to.equal(0);
    expect(writeBye(many, undefined, out, 0)).to.equal(0);
    expect(writeApp({ ...app, subtype: 32 }, out, 0)).to.equal(0);
    expect(writeApp({ ...app, name: 'TOOLONG' }, out, 0)).to.equal(0);
    expect(out.every((b) => b === 0xee), 'nothing written').to.equal(true);
    expect(() => encodeSenderReport({ ...info, reports: blocks })).to.throw(RangeError);
    expect(() => encodeReceiverReport({ ssrc: 1, reports: blocks })).to.throw(RangeError);
    expect(() => encodeSdes(many.map((ssrc) => ({ ssrc, items: [] })))).to.throw(RangeError);
    expect(() => encodeBye(many)).to.throw(RangeError);
    expect(() => encodeApp({ ...app, subtype: 32 })).to.throw(RangeError);
  });
});

describe('rtp/rtcp random input', () => {
  it(`never throws on ${FUZZ_COUNT} random, truncated and bit-flipped compounds`, function () {
    this.timeout(120_000);
    let bad = 0;
    const reader = new RtcpCompoundReader();
    const view = new RtcpPacketView();
    const sr = new RtcpSenderReport();
    const rr = new RtcpReceiverReport();
    const bye = new RtcpBye();
    const app = new RtcpApp();
    const sdes = new SdesReader();
    const item = new SdesItemView();
    let parsed = 0;
    const seeds = [COMPOUND, Buffer.from(SR), Buffer.from(SDES), Buffer.from(BYE), Buffer.from([...RR_ONE, ...RR_PADDED])];
    forEachFuzzInput(0x5eed0002, FUZZ_COUNT, seeds, (buf) => {
      validateRtcpCompound(buf);
      rtcpSenderSsrc(buf);
      reader.reset(buf);
      for (let i = 0; i < 64 && reader.next(view) === null; i++) {
        if (view.offset + view.length > buf.length) bad++;
        switch (view.packetType) {
          case RtcpPacketType.SR:
            if (parseSenderReport(buf, view, sr) === null) parsed++;
            break;
          case RtcpPacketType.RR:
            if (parseReceiverReport(buf, view, rr) === null) parsed++;
            break;
          case RtcpPacketType.BYE:
            if (parseBye(buf, view, bye) === null) {
              parsed++;
              if (bye.reasonLength >= 0 && bye.reasonOffset + bye.reasonLength > buf.length) bad++;
            }
            break;
          case RtcpPacketType.APP:
            if (parseApp(buf, view, app) === null) parsed++;
            break;
          case RtcpPacketType.SDES: {
            sdes.reset(buf, view);
            for (let j = 0; j < 1000 && sdes.next(item) === null; j++) {
              if (item.offset + item.length > view.offset + view.length) bad++;
            }
            readSdesCname(buf, view);
            break;
          }
          default:
            break;
        }
      }
    });
    expect(bad).to.equal(0);
    expect(parsed).to.be.greaterThan(100);
  });
});
