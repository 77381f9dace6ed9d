/**
 * The mixer with the real reflector core on loopback (SPEC §13): real UDP
 * clients send paced PCMU/G.722 tones to AUDIO_PORT; `mix` participants receive
 * one mixed stream from AUDIO_PORT with the mixer's SSRC and the contributors as
 * CSRCs, plus RTCP SR from AUDIO_PORT+1.
 */
import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { createMixer, type Mixer } from '../../src/mixer/index.js';
import { findMixerCodec, opusInstanceCount, type FrameEncoder, type MixerCodec } from '../../src/mixer/codecs.js';
import { G722Decoder } from '../../src/mixer/g722.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RtcpPacketType } from '../../src/rtp/rtcp-compound.js';
import { RtpHeader, parseRtpHeader } from '../../src/rtp/rtp-header.js';
import { waitUntil } from '../helpers/wait.js';
import { codec, startCore, TestClient, type TestCore } from '../reflector/fixture.js';
import { sine, toneAmplitude } from './signals.js';

const CORE_IP = '127.0.6.1';
const AUDIO = 5566;
const PCMU_MAP = codec('PCMU', 0, 0);
const PCMA_MAP = codec('PCMA', 8, 8);
const G722_MAP = codec('G722', 9, 9);
const DTMF_MAP = codec('telephone-event', 101, 101);
const OPUS_MAP = { ...codec('opus', 111, 111, 48000), channels: 2 }; // RFC 7587: always opus/48000/2

/** Sends a tone as 20 ms RTP packets, paced by a timer, from the client's RTP socket. */
class PacedTone {
  #timer: NodeJS.Timeout | null = null;
  #seq = 100;
  #ts = 1000;
  #offset = 0;
  readonly #pcm: Int16Array;
  readonly #codec: MixerCodec;
  readonly #encoder: FrameEncoder;

  constructor(
    readonly client: TestClient,
    readonly ssrc: number,
    codecName: string,
    readonly pt: number,
    freqHz: number,
  ) {
    this.#codec = findMixerCodec(codecName, codecName.toLowerCase() === 'opus' ? 48000 : 8000)!;
    this.#encoder = this.#codec.createEncoder(); // one continuous G.722 encoder state per stream
    this.#pcm = sine(freqHz, 8000, this.#codec.sampleRateHz * 10, this.#codec.sampleRateHz);
  }

  /** Sends every packet that is due by the monotonic clock (a stalled event loop sends a burst, as a network would deliver it). */
  start(): void {
    const t0 = performance.now();
    let sent = 0;
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / 20);
      for (let i = 0; sent < due && i < 50; i++, sent++) this.#send();
    }, 10);
  }

  #send(): void {
    const samples = this.#codec.sampleRateHz / 50;
    if (this.#offset + samples > this.#pcm.length) this.#offset = 0;
    const pkt = Buffer.alloc(12 + this.#codec.frameBytes);
    pkt[0] = 0x80;
    pkt[1] = this.pt;
    pkt.writeUInt16BE(this.#seq++ & 0xffff, 2);
    pkt.writeUInt32BE(this.#ts >>> 0, 4);
    this.#ts += this.#codec.rtpClockRateHz / 50;
    pkt.writeUInt32BE(this.ssrc, 8);
    const n = this.#encoder.encode(this.#pcm.subarray(this.#offset, this.#offset + samples), samples, pkt, 12);
    this.#offset += samples;
    this.client.rtp.send(pkt.subarray(0, 12 + n), AUDIO, CORE_IP).catch(() => undefined);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#encoder.dispose?.();
  }
}

interface Heard {
  headers: RtpHeader[];
  pcm: Int16Array;
  rateHz: number;
}

/** Decodes the mixer's RTP that `c` received (the last `frames` packets from the mixer SSRC). */
function heard(c: TestClient, codecName: 'PCMU' | 'PCMA' | 'G722' | 'opus', frames: number): Heard {
  const codecInfo = findMixerCodec(codecName, codecName === 'opus' ? 48000 : 8000)!;
  const rtp = c.rtp.all.filter((r) => r.rinfo.port === AUDIO && r.rinfo.address === CORE_IP);
  const headers = rtp.map((r) => {
    const h = new RtpHeader();
    expect(parseRtpHeader(r.msg, h)).to.equal(null);
    return h;
  });
  const audio = headers.map((h, i) => ({ h, msg: rtp[i].msg })).filter((x) => x.h.payloadType !== 101);
  const recent = audio.slice(-frames);
  const frame = codecInfo.sampleRateHz / 50;
  const pcm = new Int16Array(recent.length * frame);
  const g722 = new G722Decoder();
  const dec = codecInfo.createDecoder(1);
  recent.forEach((x, i) => {
    if (codecName === 'G722') g722.decode(x.msg, x.h.payloadOffset, x.h.payloadLength, pcm, i * frame);
    else dec.decode(x.msg, x.h.payloadOffset, x.h.payloadLength, pcm, i * frame);
  });
  dec.dispose?.();
  return { headers: audio.map((x) => x.h), pcm, rateHz: codecInfo.sampleRateHz };
}

/** Per 100 ms block, the amplitude of `freqHz`. */
function blockAmps(h: Heard, freqHz: number): number[] {
  const n = h.rateHz / 10;
  const out: number[] = [];
  for (let s = 0; s + n <= h.pcm.length; s += n) out.push(toneAmplitude(h.pcm, s, n, freqHz, h.rateHz));
  return out;
}

/**
 * The tone is heard: at full level (amplitude 8000 sent) in at least 60 % of the blocks —
 * a loaded test machine may stall a sender, and the jitter buffer then conceals.
 */
function hears(h: Heard, freqHz: number): boolean {
  const amps = blockAmps(h, freqHz);
  return amps.filter((a) => a > 6000).length >= 0.6 * amps.length;
}

/** The tone is absent from every block (mix-minus is exact, whatever the timing). */
function never(h: Heard, freqHz: number): boolean {
  return blockAmps(h, freqHz).every((a) => a < 100);
}

function mixerPackets(c: TestClient): number {
  return c.rtp.all.filter((r) => r.rinfo.port === AUDIO && r.rinfo.address === CORE_IP).length;
}

describe('mixer with the reflector core (loopback UDP)', () => {
  let core: TestCore | null = null;
  let mixer: Mixer | null = null;
  const clients: TestClient[] = [];
  const tones: PacedTone[] = [];

  afterEach(async () => {
    for (const t of tones.splice(0)) t.stop();
    await mixer?.close();
    mixer = null;
    await core?.close();
    core = null;
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  async function client(ip: string): Promise<TestClient> {
    const c = await TestClient.create(ip);
    clients.push(c);
    return c;
  }

  async function setUp(): Promise<TestCore> {
    const started = await startCore(CORE_IP);
    core = started.core;
    mixer = createMixer({ config: started.config, logger: silentLogger(), core });
    await mixer.start();
    return core;
  }

  function tone(c: TestClient, ssrc: number, codecName: string, pt: number, freqHz: number): PacedTone {
    const t = new PacedTone(c, ssrc, codecName, pt, freqHz);
    tones.push(t);
    t.start();
    return t;
  }

  it('three mix participants: the listener hears both tones, each talker only the other one', async () => {
    const c0 = await setUp();
    const a = await client('127.0.6.10');
    const b = await client('127.0.6.11');
    const c = await client('127.0.6.12');
    const r = await client('127.0.6.13');
    a.join(c0, 'trio', [a.stream({ codecs: [PCMU_MAP, DTMF_MAP] })], { mode: 'mix' });
    b.join(c0, 'trio', [b.stream({ codecs: [PCMU_MAP] })], { mode: 'mix' });
    c.join(c0, 'trio', [c.stream({ codecs: [PCMU_MAP] })], { mode: 'mix' });
    r.join(c0, 'trio', [r.stream({ codecs: [PCMU_MAP] })]); // reflect mode
    tone(a, 0xa1, 'PCMU', 0, 440);
    tone(b, 0xb1, 'PCMU', 0, 1000);
    await waitUntil(() => mixerPackets(c) >= 150 && mixerPackets(a) >= 150 && mixerPackets(b) >= 150, 10_000, 'mixed audio');

    const hc = heard(c, 'PCMU', 100);
    const ha = heard(a, 'PCMU', 100);
    const hb = heard(b, 'PCMU', 100);
    expect(hears(hc, 440), JSON.stringify(blockAmps(hc, 440))).to.equal(true);
    expect(hears(hc, 1000), JSON.stringify(blockAmps(hc, 1000))).to.equal(true);
    expect(hears(ha, 1000), JSON.stringify(blockAmps(ha, 1000))).to.equal(true);
    expect(never(ha, 440), JSON.stringify(blockAmps(ha, 440))).to.equal(true);
    expect(hears(hb, 440), JSON.stringify(blockAmps(hb, 440))).to.equal(true);
    expect(never(hb, 1000), JSON.stringify(blockAmps(hb, 1000))).to.equal(true);

    // One stream per mixed participant: the mixer's SSRC, contributors as CSRCs.
    const last = hc.headers.at(-1)!;
    expect(new Set(hc.headers.map((h) => h.ssrc)).size).to.equal(1);
    expect([0xa1, 0xb1]).to.not.include(last.ssrc);
    expect(Array.from(last.csrcs.subarray(0, last.csrcCount)).sort()).to.deep.equal([0xa1, 0xb1]);
    const la = ha.headers.at(-1)!;
    expect(Array.from(la.csrcs.subarray(0, la.csrcCount))).to.deep.equal([0xb1]);
    // No raw audio of the others reached a mixed participant.
    expect(c.rtp.all.every((x) => x.rinfo.port === AUDIO && [0xa1, 0xb1].indexOf(x.msg.readUInt32BE(8)) < 0)).to.equal(true);
    // The reflect participant still gets both raw streams.
    const rawSsrcs = new Set(r.rtp.all.map((x) => x.msg.readUInt32BE(8)));
    expect(rawSsrcs.has(0xa1) && rawSsrcs.has(0xb1)).to.equal(true);

    // RTCP SR for the mixed stream, from AUDIO_PORT+1.
    const sr = await c.rtcp.nextMatching((x) => x.msg[1] === RtcpPacketType.SR, 4000);
    expect(sr.rinfo.port).to.equal(AUDIO + 1);
    expect(sr.msg.readUInt32BE(4)).to.equal(last.ssrc);

    const stats = mixer!.stats();
    expect(stats.mixer_sessions).to.equal(1);
    expect(stats.mixer_outputs).to.equal(3);
    expect(stats.mixer_inputs).to.equal(2);

    // A mixed participant that leaves stops getting audio, and its output goes away.
    c0.leave(c.id, 'bye');
    expect(mixer!.stats().mixer_outputs).to.equal(2);
  });

  it('joins a PCMA-only and a G722-only phone: each hears the other', async () => {
    const c0 = await setUp();
    const p = await client('127.0.6.20');
    const g = await client('127.0.6.21');
    p.join(c0, 'pair', [p.stream({ codecs: [PCMA_MAP] })], { mode: 'mix' });
    g.join(c0, 'pair', [g.stream({ codecs: [G722_MAP] })], { mode: 'mix' });
    tone(p, 0x501, 'PCMA', 8, 440);
    tone(g, 0x502, 'G722', 9, 1000);
    await waitUntil(() => mixerPackets(p) >= 150 && mixerPackets(g) >= 150, 10_000, 'mixed audio');
    const hp = heard(p, 'PCMA', 100);
    const hg = heard(g, 'G722', 100);
    expect(hp.headers.every((h) => h.payloadType === 8)).to.equal(true);
    expect(hg.headers.every((h) => h.payloadType === 9)).to.equal(true);
    expect(hears(hp, 1000), JSON.stringify(blockAmps(hp, 1000))).to.equal(true);
    expect(never(hp, 440), JSON.stringify(blockAmps(hp, 440))).to.equal(true);
    expect(hears(hg, 440), JSON.stringify(blockAmps(hg, 440))).to.equal(true);
    expect(never(hg, 1000), JSON.stringify(blockAmps(hg, 1000))).to.equal(true);
  });

  it('uses the participant\'s own payload type number for the mixed stream', async () => {
    const c0 = await setUp();
    const a = await client('127.0.6.30');
    const m = await client('127.0.6.31');
    a.join(c0, 'pt', [a.stream({ codecs: [codec('L16', 96, 96, 16000)] })]);
    m.join(c0, 'pt', [m.stream({ codecs: [codec('L16', 96, 118, 16000)] })], { mode: 'mix' });
    await waitUntil(() => mixerPackets(m) >= 3, 4000, 'mixed packets');
    const h = new RtpHeader();
    const got = m.rtp.all.filter((x) => x.rinfo.port === AUDIO).at(-1)!;
    expect(parseRtpHeader(got.msg, h)).to.equal(null);
    expect(h.payloadType).to.equal(118);
    expect(h.payloadLength).to.equal(640); // 20 ms of L16 at 16 kHz
  });
  it('joins an opus phone (opus/48000/2) and a PCMU phone: each hears the other', async () => {
    const c0 = await setUp();
    const o = await client('127.0.6.40');
    const u = await client('127.0.6.41');
    o.join(c0, 'opus', [o.stream({ codecs: [OPUS_MAP] })], { mode: 'mix' });
    u.join(c0, 'opus', [u.stream({ codecs: [PCMU_MAP] })], { mode: 'mix' });
    tone(o, 0x601, 'opus', 111, 440);
    tone(u, 0x602, 'PCMU', 0, 1000);
    await waitUntil(() => mixerPackets(o) >= 150 && mixerPackets(u) >= 150, 10_000, 'mixed audio');
    const ho = heard(o, 'opus', 100);
    const hu = heard(u, 'PCMU', 100);
    expect(ho.headers.every((h) => h.payloadType === 111)).to.equal(true);
    expect(ho.headers.at(-1)!.timestamp - ho.headers.at(-2)!.timestamp).to.equal(960); // 48 kHz RTP clock
    expect(hears(ho, 1000), JSON.stringify(blockAmps(ho, 1000))).to.equal(true);
    // Opus is lossy: the own tone is absent up to the codec's error (in PCMU it is exactly absent).
    expect(blockAmps(ho, 440).every((a) => a < 300), JSON.stringify(blockAmps(ho, 440))).to.equal(true);
    expect(hears(hu, 440), JSON.stringify(blockAmps(hu, 440))).to.equal(true);
    expect(never(hu, 1000), JSON.stringify(blockAmps(hu, 1000))).to.equal(true);
    expect(mixer!.stats().mixer_inputs).to.equal(2);
    // Closing the mixer frees every opus encoder and decoder (WASM memory).
    for (const t of tones.splice(0)) t.stop();
    await mixer!.close();
    mixer = null;
    expect(opusInstanceCount()).to.equal(0);
  });

  it('regenerates telephone-event instead of mixing it, and counts audio it cannot decode (GSM)', async () => {
    const c0 = await setUp();
    const a = await client('127.0.6.50');
    const m = await client('127.0.6.51');
    const o = await client('127.0.6.52');
    a.join(c0, 'dtmf', [a.stream({ codecs: [PCMU_MAP, DTMF_MAP, codec('GSM', 3, 3)] })]);
    m.join(c0, 'dtmf', [m.stream({ codecs: [PCMU_MAP, DTMF_MAP] })], { mode: 'mix' });
    // A GSM-only phone in mix mode: the mixer has no codec for it, so it gets no mixed stream.
    o.join(c0, 'dtmf', [o.stream({ codecs: [codec('GSM', 3, 3)] })], { mode: 'mix' });
    const event = Buffer.alloc(16);
    event[0] = 0x80;
    event[1] = 101;
    event.writeUInt16BE(7, 2);
    event.writeUInt32BE(0xd7f, 8);
    event[12] = 5; // RFC 4733 event 5, end bit clear
    await a.rtp.send(event, AUDIO, CORE_IP);
    // Regenerated by the mixer in m's mixed stream (its SSRC, not a's), in m's PT.
    const got = await m.rtp.nextMatching((x) => (x.msg[1] & 0x7f) === 101, 4000);
    expect(got.msg.readUInt32BE(8)).to.not.equal(0xd7f);
    expect(got.msg[12]).to.equal(5);
    const gsm = Buffer.alloc(45);
    gsm[0] = 0x80;
    gsm[1] = 3;
    gsm.writeUInt32BE(0x0b, 8);
    await a.rtp.send(gsm, AUDIO, CORE_IP);
    const stats = await waitUntil(() => {
      const s = mixer!.stats();
      return (s.mixer_telephone_event_in ?? 0) >= 1 && (s.mixer_unsupported_codec ?? 0) >= 1 ? s : undefined;
    }, 4000, 'mixer drop counters');
    expect(stats.mixer_inputs).to.equal(0);
    expect(stats.mixer_outputs).to.equal(1, 'the GSM-only participant has no mixed stream');
    // m still gets its (silent) mixed stream.
    await waitUntil(() => mixerPackets(m) >= 3, 4000, 'mixed packets');
    // o negotiated no telephone-event: nothing from the mixer, no event.
    expect(o.rtp.all.every((x) => x.msg.readUInt32BE(8) === 0x0b)).to.equal(true);
  });
});
