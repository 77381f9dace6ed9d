/**
 * RFC 4733 telephone-event across payload types and clock rates, through the real core (and the
 * real mixer) on loopback: every recipient gets events in the telephone-event it negotiated, with
 * timestamp and duration in that clock; a recipient without telephone-event gets none.
 */
import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { createMixer, type Mixer } from '../../src/mixer/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { convertTelephoneEvent, chooseTelephoneEvent, scaleTimestamp } from '../../src/reflector/telephone-event.js';
import { encodeRtp } from '../../src/rtp/rtp-header.js';
import { waitUntil } from '../helpers/wait.js';
import { codec, startCore, WAIT_MS, type TestClient, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.80.1';
const AUDIO = 5566;

const OPUS = { ...codec('opus', 96, 111, 48000), channels: 2 };
const PCMU = codec('PCMU', 0, 0);
const L16W = codec('L16', 97, 118, 16000);
const TE48 = (pt: number) => codec('telephone-event', 98, pt, 48000);
const TE8 = (pt: number) => codec('telephone-event', 101, pt, 8000);
const TE16 = (pt: number) => codec('telephone-event', 100, pt, 16000);

/** One RFC 4733 packet: event, E bit, volume 10, duration. */
function dtmf(pt: number, seq: number, ts: number, event: number, duration: number, end = false, marker = false, ssrc = 0xd7f): Buffer {
  const payload = Buffer.from([event, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
  return encodeRtp({ payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc, marker }, payload);
}

function fromCore(c: TestClient): Buffer[] {
  return c.rtp.all.filter((r) => r.rinfo.address === CORE_IP && r.rinfo.port === AUDIO).map((r) => r.msg);
}

describe('telephone-event (RFC 4733) in each recipient\'s PT and clock rate', () => {
  let core: TestCore | null = null;
  let mixer: Mixer | null = null;
  const { client } = useTestClients();

  afterEach(async () => {
    await mixer?.close();
    mixer = null;
    await core?.close();
    core = null;
  });

  it('converts timestamps and durations between rates, exactly across the 32-bit wrap upwards', () => {
    const p = dtmf(98, 1, 480_000, 5, 960, false, true);
    const out = convertTelephoneEvent(p, 48000, 101, 8000)!;
    expect(out[1]).to.equal(0x80 | 101, 'marker kept, PT replaced');
    expect(out.readUInt32BE(4)).to.equal(80_000);
    expect(out.readUInt16BE(14)).to.equal(160);
    expect(out.subarray(12, 14)).to.deep.equal(p.subarray(12, 14), 'event and E/volume kept');
    expect(p.readUInt16BE(14)).to.equal(960, 'the received packet is not modified');
    expect(scaleTimestamp(0xfffffff0, 8000, 48000)).to.equal((0xfffffff0 * 6) % 2 ** 32);
    expect(convertTelephoneEvent(dtmf(101, 1, 100, 1, 0xf000), 8000, 98, 48000)!.readUInt16BE(14)).to.equal(0xffff, 'clamped');
    expect(convertTelephoneEvent(encodeRtp({ payloadType: 101, sequenceNumber: 1, timestamp: 0, ssrc: 1 }, Buffer.from([1, 2])), 8000, 98, 48000)).to.equal(null);
    expect(chooseTelephoneEvent([OPUS, TE8(101), TE48(98)])).to.deep.equal({ pt: 98, rateHz: 48000 });
    expect(chooseTelephoneEvent([PCMU, TE48(98), TE8(101)])).to.deep.equal({ pt: 101, rateHz: 8000 });
    expect(chooseTelephoneEvent([PCMU]).rateHz).to.equal(0);
  });

  it('reflect mode: an opus phone\'s events reach a G.711 phone at 8 kHz and a wideband phone at 16 kHz, not a phone without telephone-event', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.80.10');
    const b = await client('127.0.80.11');
    const w = await client('127.0.80.12');
    const n = await client('127.0.80.13');
    a.join(core, 'te', [a.stream({ codecs: [OPUS, TE48(98)] })]);
    b.join(core, 'te', [b.stream({ codecs: [PCMU, TE8(99)] })]);
    w.join(core, 'te', [w.stream({ codecs: [L16W, TE16(102)] })]);
    n.join(core, 'te', [n.stream({ codecs: [PCMU] })]);

    await a.rtp.send(dtmf(98, 10, 480_000, 5, 960, false, true), AUDIO, CORE_IP);
    await a.rtp.send(dtmf(98, 11, 480_000, 5, 4800, true), AUDIO, CORE_IP);
    const b1 = (await b.rtp.nextMessage(WAIT_MS)).msg;
    const b2 = (await b.rtp.nextMessage(WAIT_MS)).msg;
    expect([b1[1], b1.readUInt32BE(4), b1[12], b1.readUInt16BE(14)]).to.deep.equal([0x80 | 99, 80_000, 5, 160]);
    expect([b2[1], b2.readUInt32BE(4), b2[13] & 0x80, b2.readUInt16BE(14)]).to.deep.equal([99, 80_000, 0x80, 800]);
    expect(b1.readUInt32BE(8)).to.equal(0xd7f, 'the sender\'s SSRC (reflected)');
    const w1 = (await w.rtp.nextMessage(WAIT_MS)).msg;
    expect([w1[1], w1.readUInt32BE(4), w1.readUInt16BE(14)]).to.deep.equal([0x80 | 102, 160_000, 320]);

    // The other way: the G.711 phone's 8 kHz event reaches the opus phone at 48 kHz in its PT 98.
    await b.rtp.send(dtmf(99, 1, 16_000, 9, 400, false, true, 0xb0b), AUDIO, CORE_IP);
    const a1 = (await a.rtp.nextMessage(WAIT_MS)).msg;
    expect([a1[1], a1.readUInt32BE(4), a1[12], a1.readUInt16BE(14)]).to.deep.equal([0x80 | 98, 96_000, 9, 2400]);

    // n negotiated no telephone-event: it got none of the three, but still gets ordinary audio.
    await b.rtp.send(encodeRtp({ payloadType: 0, sequenceNumber: 2, timestamp: 16_160, ssrc: 0xb0b }, Buffer.alloc(160, 0xff)), AUDIO, CORE_IP);
    const audio = (await n.rtp.nextMessage(WAIT_MS)).msg;
    expect(audio[1] & 0x7f).to.equal(0);
    expect(n.rtp.all.map((r) => r.msg[1] & 0x7f)).to.deep.equal([0]);
    expect(core.counters().telephone_event_not_negotiated).to.equal(3);
    expect(core.counters().telephone_event_converted).to.equal(6, 'a’s two packets for b and w, b’s one for a and w');
  });

  it('mix mode: the mixer regenerates events in each mixed phone\'s own stream, PT and clock (opus 48 kHz in, G.711 8 kHz out)', async () => {
    const started = await startCore(CORE_IP);
    core = started.core;
    mixer = createMixer({ config: started.config, logger: silentLogger(), core });
    await mixer.start();
    const a = await client('127.0.80.20');
    const b = await client('127.0.80.21');
    const n = await client('127.0.80.22');
    const r = await client('127.0.80.23');
    a.join(core, 'mixte', [a.stream({ codecs: [OPUS, TE48(98), TE8(101)] })], { mode: 'mix' });
    b.join(core, 'mixte', [b.stream({ codecs: [PCMU, TE8(100)] })], { mode: 'mix' });
    n.join(core, 'mixte', [n.stream({ codecs: [PCMU] })], { mode: 'mix' });
    r.join(core, 'mixte', [r.stream({ codecs: [PCMU, TE8(101)] })]); // reflect mode
    // Mixed audio flows to b first, so its stream (SSRC, timestamps) is known.
    await waitUntil(() => fromCore(b).length >= 5 && fromCore(n).length >= 5, WAIT_MS, 'mixed audio');

    await a.rtp.send(dtmf(98, 10, 480_000, 7, 960, false, true), AUDIO, CORE_IP);
    await a.rtp.send(dtmf(98, 11, 480_000, 7, 1920), AUDIO, CORE_IP);
    await a.rtp.send(dtmf(98, 12, 480_000, 7, 4800, true), AUDIO, CORE_IP);
    const events = await waitUntil(() => {
      const e = fromCore(b).filter((m) => (m[1] & 0x7f) === 100);
      return e.length >= 3 ? e : undefined;
    }, WAIT_MS, 'regenerated events at b');
    const audio = fromCore(b).filter((m) => (m[1] & 0x7f) === 0);
    const mixSsrc = audio[0].readUInt32BE(8);
    expect(events.map((m) => m.readUInt32BE(8))).to.deep.equal([mixSsrc, mixSsrc, mixSsrc], 'in the mixed stream\'s SSRC');
    expect(events.map((m) => [m[1] >> 7, m[12], m[13] & 0x80, m.readUInt16BE(14)])).to.deep.equal([[1, 7, 0, 160], [0, 7, 0, 320], [0, 7, 0x80, 800]]);
    const ts = events[0].readUInt32BE(4);
    expect(events.every((m) => m.readUInt32BE(4) === ts), 'one event, one timestamp').to.equal(true);
    // The event's timestamp lies on the mixed stream's clock: within a second of its audio.
    const near = audio.some((m) => Math.abs(((m.readUInt32BE(4) - ts) << 0)) <= 8000);
    expect(near, 'event timestamp in the mixed stream\'s clock').to.equal(true);
    // Sequence numbers continue the mixed stream's (no duplicates).
    const seqs = fromCore(b).filter((m) => m.readUInt32BE(8) === mixSsrc).map((m) => m.readUInt16BE(2));
    expect(new Set(seqs).size).to.equal(seqs.length);

    // The reflect-mode phone gets the event converted to 8 kHz in its PT, with a's SSRC.
    const atR = await waitUntil(() => {
      const e = r.rtp.all.map((x) => x.msg).filter((m) => (m[1] & 0x7f) === 101);
      return e.length >= 3 ? e : undefined;
    }, WAIT_MS, 'events at r');
    expect(atR.map((m) => [m.readUInt32BE(8), m.readUInt32BE(4), m.readUInt16BE(14)])).to.deep.equal([[0xd7f, 80_000, 160], [0xd7f, 80_000, 320], [0xd7f, 80_000, 800]]);
    // n negotiated no telephone-event; a does not get its own events back.
    expect(fromCore(n).every((m) => (m[1] & 0x7f) === 0)).to.equal(true);
    expect(fromCore(a).every((m) => (m[1] & 0x7f) === 111)).to.equal(true);
    expect(mixer.stats().mixer_telephone_event_in).to.equal(3);
    expect(mixer.stats().mixer_telephone_event_out).to.equal(3);
  });
});
