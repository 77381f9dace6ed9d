import { expect } from 'chai';
import { DropCounter } from '../../src/runtime/drop-counter.js';
import { RtpHeader, parseRtpHeader } from '../../src/rtp/rtp-header.js';
import { findMixerCodec, mixerCodecNames, opusInstanceCount, opusUnavailableReason, type MixerCodec } from '../../src/mixer/codecs.js';
import { MixerSession, newMixerCounters } from '../../src/mixer/mixer-session.js';
import { sine, toneAmplitude } from './signals.js';

/** Best SNR (dB) of `got` against `ref` over [start, start+len), searching the codec delay up to maxLag. */
function snrDb(ref: Int16Array, got: Int16Array, start: number, len: number, maxLag: number): { snr: number; lag: number } {
  let best = { snr: -Infinity, lag: 0 };
  for (let lag = 0; lag <= maxLag; lag++) {
    let sig = 0;
    let err = 0;
    for (let i = start; i < start + len; i++) {
      const r = ref[i - lag];
      const e = got[i] - r;
      sig += r * r;
      err += e * e;
    }
    const snr = 10 * Math.log10(sig / Math.max(err, 1));
    if (snr > best.snr) best = { snr, lag };
  }
  return best;
}

function opus(): MixerCodec {
  const c = findMixerCodec('opus', 48000);
  expect(c, `opus unavailable: ${opusUnavailableReason()}`).to.not.equal(null);
  return c!;
}

describe('mixer/opus', () => {
  afterEach(() => {
    expect(opusInstanceCount()).to.equal(0);
  });

  it('is among the mixer codecs as opus/48000 (opusscript loads here)', () => {
    expect(opusUnavailableReason()).to.equal(null);
    expect(mixerCodecNames()).to.include('opus/48000');
    const c = opus();
    expect(findMixerCodec('OPUS', 48000)).to.equal(c);
    expect(findMixerCodec('opus', 16000)).to.equal(null);
    expect(c.rtpClockRateHz).to.equal(48000);
    expect(c.sampleRateHz).to.equal(16000);
    expect(c.stateless).to.equal(false);
  });

  it('round-trips a 1 kHz sine at 16 kHz with a bounded error', () => {
    const c = opus();
    const enc = c.createEncoder();
    const dec = c.createDecoder(2);
    try {
      const frames = 100;
      const input = sine(1000, 10000, 320 * frames, 16000);
      const output = new Int16Array(320 * frames);
      const pkt = new Uint8Array(1500);
      let bytes = 0;
      for (let f = 0; f < frames; f++) {
        const n = enc.encode(input.subarray(f * 320, f * 320 + 320), 320, pkt, 12);
        expect(n).to.be.within(1, c.frameBytes);
        bytes += n;
        expect(dec.decode(pkt, 12, n, output, f * 320)).to.equal(320);
      }
      // VBR around the configured 32 kbit/s (80 bytes per 20 ms).
      expect(bytes / frames).to.be.within(20, 160);
      const { snr, lag } = snrDb(input, output, 16000, 16000, 400);
      expect(snr).to.be.above(15);
      expect(lag).to.be.below(400);
      const tone = toneAmplitude(output, 16000, 16000, 1000, 16000);
      expect(tone).to.be.within(8000, 12000);
      expect(toneAmplitude(output, 16000, 16000, 3000, 16000)).to.be.below(300);
    } finally {
      enc.dispose?.();
      dec.dispose?.();
    }
  });

  it('rejects garbage packets without throwing (decodes nothing)', () => {
    const dec = opus().createDecoder(2);
    try {
      const out = new Int16Array(4000);
      const junk = new Uint8Array(64);
      let total = 0;
      for (let i = 0; i < 200; i++) {
        for (let k = 0; k < junk.length; k++) junk[k] = (i * 131 + k * 17) & 0xff;
        const len = 1 + (i % 64);
        const n = dec.decode(junk, 0, len, out, 0);
        expect(n).to.be.within(0, dec.samplesIn(len));
        total += n;
      }
      expect(total).to.be.at.least(0);
    } finally {
      dec.dispose?.();
    }
  });

  it('an opus and a PCMU participant in mix mode hear each other; every opus instance is freed', () => {
    const c = opus();
    const pcmu = findMixerCodec('PCMU', 8000)!;
    const sent: { id: string; packet: Buffer }[] = [];
    const session = new MixerSession('s', {
      transport: { send: (id, rtcp, packet) => (rtcp || sent.push({ id, packet: Buffer.from(packet) }), true) },
      counters: newMixerCounters(),
      drops: new DropCounter(),
      cname: 'mixer@test',
    });
    session.setOutput({ participantId: 'O', codec: c, payloadType: 111 });
    session.setOutput({ participantId: 'U', codec: pcmu, payloadType: 0 });
    expect(opusInstanceCount()).to.equal(1); // O's encoder
    expect(session.mixRateHz).to.equal(16000);

    const frames = 150;
    const opusEnc = c.createEncoder();
    const oTone = sine(440, 8000, 320 * frames, 16000);
    const uTone = sine(1000, 8000, 160 * frames, 8000);
    const buf = Buffer.alloc(12 + c.frameBytes);
    for (let f = 0; f < frames; f++) {
      buf[0] = 0x80;
      buf[1] = 111;
      buf.writeUInt16BE(f, 2);
      buf.writeUInt32BE(f * 960, 4);
      buf.writeUInt32BE(0x0f0f, 8);
      const n = opusEnc.encode(oTone.subarray(f * 320, f * 320 + 320), 320, buf, 12);
      session.onRtp('O', 'O', c, 2, buf.subarray(0, 12 + n), f * 20 + 3);
      const u = Buffer.alloc(12 + 160);
      u[0] = 0x80;
      u.writeUInt16BE(f, 2);
      u.writeUInt32BE(f * 160, 4);
      u.writeUInt32BE(0x0e0e, 8);
      pcmu.createEncoder().encode(uTone.subarray(f * 160, f * 160 + 160), 160, u, 12);
      session.onRtp('U', 'U', pcmu, 1, u, f * 20 + 3);
      session.tick(f * 20 + 10);
    }
    opusEnc.dispose?.();
    expect(opusInstanceCount()).to.equal(2); // O's encoder (output) and decoder (input)

    // What O receives: opus, PT 111, 48 kHz timestamps, decoded here.
    const dec = c.createDecoder(2);
    const oPcm = new Int16Array(320 * frames);
    const h = new RtpHeader();
    const oPkts = sent.filter((s) => s.id === 'O');
    expect(oPkts).to.have.length(frames);
    let prevTs = -1;
    oPkts.forEach((s, i) => {
      expect(parseRtpHeader(s.packet, h)).to.equal(null);
      expect(h.payloadType).to.equal(111);
      if (prevTs >= 0) expect((h.timestamp - prevTs) >>> 0).to.equal(960);
      prevTs = h.timestamp;
      expect(h.payloadLength).to.be.within(1, c.frameBytes);
      dec.decode(s.packet, h.payloadOffset, h.payloadLength, oPcm, i * 320);
    });
    dec.dispose?.();
    const lastO = oPcm.length - 16000;
    expect(toneAmplitude(oPcm, lastO, 16000, 1000, 16000)).to.be.above(4000);
    expect(toneAmplitude(oPcm, lastO, 16000, 440, 16000)).to.be.below(200);

    // What U receives: PCMU with O's tone.
    const uPkts = sent.filter((s) => s.id === 'U');
    const uPcm = new Int16Array(160 * uPkts.length);
    const fd = pcmu.createDecoder(1);
    uPkts.forEach((s, i) => {
      expect(parseRtpHeader(s.packet, h)).to.equal(null);
      fd.decode(s.packet, h.payloadOffset, h.payloadLength, uPcm, i * 160);
    });
    const lastU = uPcm.length - 8000;
    expect(toneAmplitude(uPcm, lastU, 8000, 440, 8000)).to.be.above(4000);
    expect(toneAmplitude(uPcm, lastU, 8000, 1000, 8000)).to.be.below(200);

    // A codec change and a leave free the old state; close frees the rest.
    session.setOutput({ participantId: 'O', codec: pcmu, payloadType: 0 });
    expect(opusInstanceCount()).to.equal(1); // O's input decoder
    session.setOutput({ participantId: 'O', codec: c, payloadType: 111 });
    expect(opusInstanceCount()).to.equal(2);
    session.removeParticipant('O');
    expect(opusInstanceCount()).to.equal(0);
    session.setOutput({ participantId: 'O', codec: c, payloadType: 111 });
    session.onRtp('O', 'O', c, 2, buf.subarray(0, 12 + 3), 5000);
    expect(opusInstanceCount()).to.equal(2);
    session.close();
    expect(opusInstanceCount()).to.equal(0);
    expect(session.inputCount + session.outputCount).to.equal(0);
  });

  it('expiring an idle opus input frees its decoder', () => {
    const c = opus();
    const session = new MixerSession('s', {
      transport: { send: () => true },
      counters: newMixerCounters(),
      drops: new DropCounter(),
      cname: 'mixer@test',
    });
    const pkt = Buffer.from([0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xf8, 0xff, 0xfe]);
    session.onRtp('ssrc:9', null, c, 2, pkt, 0);
    expect(opusInstanceCount()).to.equal(1);
    session.expireInputs(20_000, 10_000);
    expect(opusInstanceCount()).to.equal(0);
    session.close();
  });
});
