import { expect } from 'chai';
import { DropCounter } from '../../src/runtime/drop-counter.js';
import { RtcpCompoundReader, RtcpPacketType, RtcpPacketView } from '../../src/rtp/rtcp-compound.js';
import { RtcpSenderReport, parseSenderReport } from '../../src/rtp/rtcp-sr.js';
import { readSdesCname } from '../../src/rtp/rtcp-sdes.js';
import { RtpHeader, parseRtpHeader } from '../../src/rtp/rtp-header.js';
import { findMixerCodec, type FrameEncoder, type MixerCodec } from '../../src/mixer/codecs.js';
import { G722Decoder } from '../../src/mixer/g722.js';
import { MixerSession, newMixerCounters, type MixerCounters } from '../../src/mixer/mixer-session.js';
import { sine, toneAmplitude } from './signals.js';
import { minstd } from '../helpers/prng.js';

const PCMU = findMixerCodec('PCMU', 8000)!;
const PCMA = findMixerCodec('pcma', 8000)!;
const G722 = findMixerCodec('G722', 8000)!;

interface Sent {
  id: string;
  rtcp: boolean;
  packet: Buffer;
}

/** A talker: pre-generated tone, sent as 20 ms RTP packets in its codec. */
class Talker {
  seq = 1000;
  ts = 5000;
  readonly pcm: Int16Array;
  readonly encoder: FrameEncoder;
  offset = 0;
  constructor(
    readonly id: string,
    readonly ssrc: number,
    readonly codec: MixerCodec,
    readonly pt: number,
    freqHz: number,
  ) {
    this.pcm = sine(freqHz, 8000, codec.sampleRateHz * 4, codec.sampleRateHz);
    this.encoder = codec.createEncoder(); // one continuous G.722 encoder state per stream
  }
  next(): Buffer {
    const samples = this.codec.sampleRateHz / 50;
    const pkt = Buffer.alloc(12 + this.codec.frameBytes);
    pkt[0] = 0x80;
    pkt[1] = this.pt;
    pkt.writeUInt16BE(this.seq++ & 0xffff, 2);
    pkt.writeUInt32BE(this.ts >>> 0, 4);
    this.ts += this.codec.rtpClockRateHz / 50;
    pkt.writeUInt32BE(this.ssrc, 8);
    this.encoder.encode(this.pcm.subarray(this.offset, this.offset + samples), samples, pkt, 12);
    this.offset += samples;
    return pkt;
  }
}

function makeSession(sent: Sent[], counters: MixerCounters = newMixerCounters(), drops = new DropCounter()): MixerSession {
  const random = minstd(7);
  return new MixerSession('s', {
    transport: {
      send: (id, rtcp, packet) => {
        sent.push({ id, rtcp, packet: Buffer.from(packet) });
        return true;
      },
    },
    counters,
    drops,
    cname: 'mixer@test',
    random,
  });
}

/** Runs `frames` ticks; every talker sends one packet per tick, just before it. */
function run(session: MixerSession, talkers: Talker[], frames: number): void {
  for (let f = 0; f < frames; f++) {
    const now = f * 20;
    for (const t of talkers) session.onRtp(t.id, t.id, t.codec, 1, t.next(), now + 3);
    session.tick(now + 10);
  }
}

/** Decodes one participant's RTP stream into PCM at the codec's rate. */
function decodeStream(sent: Sent[], id: string, codec: MixerCodec): { pcm: Int16Array; headers: RtpHeader[] } {
  const pkts = sent.filter((s) => s.id === id && !s.rtcp);
  const headers: RtpHeader[] = [];
  const frame = codec.sampleRateHz / 50;
  const pcm = new Int16Array(pkts.length * frame);
  const decoder = codec.name === 'G722' ? new G722Decoder() : null;
  const fd = codec.createDecoder(1);
  pkts.forEach((s, i) => {
    const h = new RtpHeader();
    expect(parseRtpHeader(s.packet, h)).to.equal(null);
    headers.push(h);
    if (decoder !== null) decoder.decode(s.packet, h.payloadOffset, h.payloadLength, pcm, i * frame);
    else fd.decode(s.packet, h.payloadOffset, h.payloadLength, pcm, i * frame);
  });
  return { pcm, headers };
}

/** Tone amplitude over the last second of `pcm`. */
function level(pcm: Int16Array, freqHz: number, rateHz: number): number {
  return toneAmplitude(pcm, pcm.length - rateHz, rateHz, freqHz, rateHz);
}

describe('mixer/mixer-session', () => {
  it('mix-minus: each participant hears the others but not itself; a listener hears everyone', () => {
    const sent: Sent[] = [];
    const session = makeSession(sent);
    const a = new Talker('A', 0xaaaa, PCMU, 0, 440);
    const b = new Talker('B', 0xbbbb, PCMU, 0, 1000);
    for (const id of ['A', 'B', 'C']) session.setOutput({ participantId: id, codec: PCMU, payloadType: 0 });
    run(session, [a, b], 150);

    const outA = decodeStream(sent, 'A', PCMU);
    const outB = decodeStream(sent, 'B', PCMU);
    const outC = decodeStream(sent, 'C', PCMU);
    expect(outA.headers).to.have.length(150);
    expect(level(outA.pcm, 1000, 8000)).to.be.above(5000);
    expect(level(outA.pcm, 440, 8000)).to.be.below(100);
    expect(level(outB.pcm, 440, 8000)).to.be.above(5000);
    expect(level(outB.pcm, 1000, 8000)).to.be.below(100);
    expect(level(outC.pcm, 440, 8000)).to.be.above(5000);
    expect(level(outC.pcm, 1000, 8000)).to.be.above(5000);

    // RFC 3550 §7.1: the mixer's own SSRC per output, contributors in the CSRC list.
    const last = (o: { headers: RtpHeader[] }): RtpHeader => o.headers[o.headers.length - 1];
    expect(Array.from(last(outA).csrcs.subarray(0, last(outA).csrcCount))).to.deep.equal([0xbbbb]);
    expect(Array.from(last(outB).csrcs.subarray(0, last(outB).csrcCount))).to.deep.equal([0xaaaa]);
    expect(Array.from(last(outC).csrcs.subarray(0, last(outC).csrcCount)).sort()).to.deep.equal([0xaaaa, 0xbbbb]);
    const ssrcs = new Set([outA, outB, outC].map((o) => o.headers[0].ssrc));
    expect(ssrcs.size).to.equal(3);
    for (const o of [outA, outB, outC]) {
      expect(o.headers[0].marker).to.equal(true);
      for (let i = 1; i < o.headers.length; i++) {
        const h = o.headers[i];
        expect(h.ssrc).to.equal(o.headers[0].ssrc);
        expect(h.marker).to.equal(false);
        expect(h.payloadType).to.equal(0);
        expect(h.sequenceNumber).to.equal((o.headers[i - 1].sequenceNumber + 1) & 0xffff);
        expect(h.timestamp).to.equal((o.headers[i - 1].timestamp + 160) >>> 0);
      }
    }
  });

  it('with 5 % reordering and 2 % loss at the input, the output is steady: no sequence gaps, one frame per 20 ms tick', () => {
    const sent: Sent[] = [];
    const session = makeSession(sent);
    const a = new Talker('A', 0xa5a5, PCMU, 0, 1000);
    session.setOutput({ participantId: 'L', codec: PCMU, payloadType: 0 });
    const rnd = minstd(12345);
    const frames = 500;
    let held: Buffer | null = null;
    let lost = 0;
    let reordered = 0;
    for (let f = 0; f < frames; f++) {
      const now = f * 20;
      if (a.offset + 160 > a.pcm.length) a.offset = 0; // the talker holds 4 s of tone: loop it
      const pkt = a.next();
      const r = rnd();
      if (r < 0.02) {
        lost++; // dropped on the way
      } else if (r < 0.07 && held === null) {
        held = pkt; // arrives after the next one
        reordered++;
      } else {
        session.onRtp('A', 'A', PCMU, 1, pkt, now + 3);
        if (held !== null) { session.onRtp('A', 'A', PCMU, 1, held, now + 4); held = null; }
      }
      session.tick(now + 10);
    }
    expect(lost).to.be.greaterThan(3);
    expect(reordered).to.be.greaterThan(10);
    const out = decodeStream(sent, 'L', PCMU);
    expect(out.headers).to.have.length(frames);
    for (let i = 1; i < out.headers.length; i++) {
      expect(out.headers[i].sequenceNumber, `seq at ${i}`).to.equal((out.headers[i - 1].sequenceNumber + 1) & 0xffff);
      expect(out.headers[i].timestamp, `timestamp at ${i}`).to.equal((out.headers[i - 1].timestamp + 160) >>> 0);
    }
    // And the tone is still there after the losses (concealment, not silence).
    expect(level(out.pcm, 1000, 8000)).to.be.above(5000);
  });

  it('joins a PCMA-only and a G722-only participant: each hears the other in its own codec', () => {
    const sent: Sent[] = [];
    const session = makeSession(sent);
    const p = new Talker('P', 0x1111, PCMA, 8, 440);
    const g = new Talker('G', 0x2222, G722, 9, 1000);
    session.setOutput({ participantId: 'P', codec: PCMA, payloadType: 8 });
    session.setOutput({ participantId: 'G', codec: G722, payloadType: 9 });
    run(session, [p, g], 150);
    expect(session.mixRateHz).to.equal(16000);

    const outP = decodeStream(sent, 'P', PCMA);
    const outG = decodeStream(sent, 'G', G722);
    expect(outP.headers.every((h) => h.payloadType === 8 && h.payloadLength === 160)).to.equal(true);
    expect(outG.headers.every((h) => h.payloadType === 9 && h.payloadLength === 160)).to.equal(true);
    expect(outG.headers[1].timestamp - outG.headers[0].timestamp).to.equal(160); // G.722's 8000 Hz RTP clock
    expect(level(outP.pcm, 1000, 8000)).to.be.above(5000);
    expect(level(outP.pcm, 440, 8000)).to.be.below(150);
    expect(level(outG.pcm, 440, 16000)).to.be.above(5000);
    expect(level(outG.pcm, 1000, 16000)).to.be.below(150);
  });

  it('mixes relayed sources (keyed by SSRC) into every output', () => {
    const sent: Sent[] = [];
    const session = makeSession(sent);
    const relayed = new Talker('ssrc:77', 77, PCMU, 0, 700);
    session.setOutput({ participantId: 'A', codec: PCMU, payloadType: 0 });
    for (let f = 0; f < 100; f++) {
      session.onRtp(relayed.id, null, PCMU, 1, relayed.next(), f * 20);
      session.tick(f * 20 + 10);
    }
    const outA = decodeStream(sent, 'A', PCMU);
    expect(level(outA.pcm, 700, 8000)).to.be.above(5000);
    const h = outA.headers.at(-1)!;
    expect(Array.from(h.csrcs.subarray(0, h.csrcCount))).to.deep.equal([77]);
  });

  it('encodes the whole mix once for listeners that share a stateless codec', () => {
    const sent: Sent[] = [];
    const counters = newMixerCounters();
    const session = makeSession(sent, counters);
    const a = new Talker('A', 0xa, PCMU, 0, 440);
    for (const id of ['A', 'L1', 'L2', 'L3']) session.setOutput({ participantId: id, codec: PCMU, payloadType: 0 });
    run(session, [a], 60);
    const l1 = decodeStream(sent, 'L1', PCMU);
    const l3 = decodeStream(sent, 'L3', PCMU);
    for (let i = 0; i < l1.headers.length; i++) {
      const p1 = sent.filter((s) => s.id === 'L1')[i].packet.subarray(l1.headers[i].payloadOffset);
      const p3 = sent.filter((s) => s.id === 'L3')[i].packet.subarray(l3.headers[i].payloadOffset);
      expect(p1.equals(p3)).to.equal(true);
    }
    expect(counters.sharedEncodings).to.be.within(2 * 60, 3 * 60); // A too, while its buffer fills
    expect(level(l1.pcm, 440, 8000)).to.be.above(5000);
  });

  it('sends silence (not nothing) when nobody talks, and forgets idle inputs', () => {
    const sent: Sent[] = [];
    const session = makeSession(sent);
    session.setOutput({ participantId: 'A', codec: PCMU, payloadType: 0 });
    const b = new Talker('B', 0xb, PCMU, 0, 440);
    session.onRtp('B', 'B', PCMU, 1, b.next(), 0);
    for (let f = 0; f < 10; f++) session.tick(f * 20);
    const out = decodeStream(sent, 'A', PCMU);
    expect(out.headers).to.have.length(10);
    expect(out.pcm.every((v) => v === 0)).to.equal(true);
    expect(out.headers.every((h) => h.csrcCount === 0)).to.equal(true);
    expect(session.inputCount).to.equal(1);
    session.expireInputs(20_000, 10_000);
    expect(session.inputCount).to.equal(0);
  });

  it('sends an RTCP SR with SDES CNAME per mixed stream, reporting on the participant\'s own audio', () => {
    const sent: Sent[] = [];
    const session = makeSession(sent);
    const a = new Talker('A', 0xa, PCMU, 0, 440);
    session.setOutput({ participantId: 'A', codec: PCMU, payloadType: 0 });
    run(session, [a], 50);
    session.sendReports(1000, Date.UTC(2026, 0, 1), 5000);
    const rtcp = sent.filter((s) => s.rtcp);
    expect(rtcp).to.have.length(1);
    const buf = rtcp[0].packet;
    const reader = new RtcpCompoundReader().reset(buf);
    const view = new RtcpPacketView();
    const types: number[] = [];
    const sr = new RtcpSenderReport();
    let cname: string | null = null;
    while (reader.next(view) === null) {
      types.push(view.packetType);
      if (view.packetType === RtcpPacketType.SR) expect(parseSenderReport(buf, view, sr)).to.equal(null);
      if (view.packetType === RtcpPacketType.SDES) cname = readSdesCname(buf, view);
    }
    expect(types).to.deep.equal([RtcpPacketType.SR, RtcpPacketType.SDES]);
    expect(cname).to.equal('mixer@test');
    const rtp = decodeStream(sent, 'A', PCMU);
    expect(sr.ssrc).to.equal(rtp.headers[0].ssrc);
    expect(sr.packetCount).to.equal(50);
    expect(sr.octetCount).to.equal(50 * 160);
    expect(sr.reportCount).to.equal(1);
    expect(sr.reports[0].ssrc).to.equal(0xa);
    expect(sr.reports[0].highestSeq).to.equal(1049);
    expect(sr.reports[0].packetsLost).to.equal(0);
    // Not again before the interval.
    session.sendReports(2000, Date.UTC(2026, 0, 1), 5000);
    expect(sent.filter((s) => s.rtcp)).to.have.length(1);
  });

  it('counts malformed and empty packets instead of throwing', () => {
    const sent: Sent[] = [];
    const drops = new DropCounter();
    const session = makeSession(sent, newMixerCounters(), drops);
    session.onRtp('A', 'A', PCMU, 1, Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0);
    const keepalive = Buffer.alloc(12);
    keepalive[0] = 0x80;
    session.onRtp('A', 'A', PCMU, 1, keepalive, 0);
    expect(drops.snapshot()).to.deep.equal({ mixer_rtp_malformed: 1, mixer_rtp_no_payload: 1 });
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.alloc(12 + (i % 40));
      for (let k = 0; k < junk.length; k++) junk[k] = (i * 131 + k * 17) & 0xff;
      junk[0] = 0x80 | (junk[0] & 0x3f);
      expect(() => session.onRtp('J', 'J', G722, 1, junk, i)).to.not.throw();
    }
  });
});
