import { expect } from 'chai';
import { FrameKind, JitterBuffer, JitterDrop, type FrameDecoder } from '../../src/mixer/jitter-buffer.js';
import { xorshift32 } from '../helpers/prng.js';

const FRAME = 160; // 20 ms at 8 kHz

/** A fake codec: each payload is a 16-bit marker that fills the whole 20 ms frame. */
class MarkerDecoder implements FrameDecoder {
  resets = 0;
  samplesIn(): number {
    return FRAME;
  }
  decode(payload: Uint8Array, start: number, _length: number, out: Int16Array, offset: number): number {
    const marker = (payload[start] << 8) | payload[start + 1];
    out.fill(marker, offset, offset + FRAME);
    return FRAME;
  }
  reset(): void {
    this.resets++;
  }
}

function payloadFor(seq: number): Uint8Array {
  const marker = (seq % 30000) + 1; // never 0, so silence is distinguishable
  return Uint8Array.from([marker >> 8, marker & 0xff]);
}

/** Deterministic uniform [0, 1). */
function rng(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 0x100000000;
}

function makeBuffer(decoder = new MarkerDecoder()): JitterBuffer {
  return new JitterBuffer(decoder, { rtpClockRateHz: 8000, sampleRateHz: 8000, frameSamples: FRAME });
}

describe('mixer/jitter-buffer', () => {
  it('with 5 % reordering and 2 % loss yields one frame per tick, in order', () => {
    const jb = makeBuffer();
    const rand = rng(42);
    const packets = 3000;
    const firstSeq = 65000; // crosses the 16-bit wrap
    const arrivals: Array<{ at: number; i: number }> = [];
    let dropped = 0;
    for (let i = 0; i < packets; i++) {
      if (rand() < 0.02) {
        dropped++;
        continue;
      }
      arrivals.push({ at: i * 20 + 5 + rand() * 4, i });
    }
    // Reorder 5 %: a packet arrives just after its successor.
    let reordered = 0;
    for (let k = 0; k + 1 < arrivals.length; k++) {
      if (rand() < 0.05 && arrivals[k + 1].i === arrivals[k].i + 1) {
        const t = arrivals[k].at;
        arrivals[k].at = arrivals[k + 1].at + 1;
        arrivals[k + 1].at = t;
        reordered++;
        k++;
      }
    }
    arrivals.sort((a, b) => a.at - b.at);

    const out = new Int16Array(FRAME);
    const played: number[] = [];
    let next = 0;
    let started = false;
    let silentAfterStart = 0;
    let underrunsWhileStreaming = 0;
    for (let tick = 1; tick <= packets + 50; tick++) {
      const now = tick * 20 + 7;
      while (next < arrivals.length && arrivals[next].at <= now) {
        const { at, i } = arrivals[next++];
        const seq = (firstSeq + i) & 0xffff;
        expect(jb.push(seq, (i * 160) >>> 0, payloadFor(i), 0, 2, at)).to.equal(null);
      }
      if (next < arrivals.length) underrunsWhileStreaming = jb.stats.underruns;
      const kind = jb.pull(out);
      // Every sample of a frame is from one packet (or one concealment).
      expect(out.every((v) => v === out[0] || kind !== FrameKind.Audio)).to.equal(true);
      if (kind === FrameKind.Audio) {
        started = true;
        played.push(out[0]);
      } else if (started && next < arrivals.length) {
        if (kind === FrameKind.Silence) silentAfterStart++;
      }
    }
    expect(reordered).to.be.greaterThan(100);
    expect(jb.stats.late).to.equal(0);
    expect(underrunsWhileStreaming).to.equal(0);
    expect(silentAfterStart).to.equal(0);
    // Strictly increasing markers (modulo the marker wrap at 30000): in order, no repeats.
    for (let k = 1; k < played.length; k++) {
      const step = (played[k] - played[k - 1] + 30000) % 30000;
      expect(step, `frame ${k}`).to.be.within(1, 3);
    }
    expect(jb.stats.holds).to.be.below(10);
    expect(played.length).to.equal(packets - dropped);
    // Every gap is concealed (a loss before the first or after the last packet is not a gap).
    expect(jb.stats.lost).to.be.within(dropped - 2, dropped);
  });

  it('drops duplicates and late packets, counting them', () => {
    const jb = makeBuffer();
    expect(jb.push(100, 0, payloadFor(100), 0, 2, 0)).to.equal(null);
    expect(jb.push(100, 0, payloadFor(100), 0, 2, 1)).to.equal(JitterDrop.Duplicate);
    expect(jb.push(101, 160, payloadFor(101), 0, 2, 20)).to.equal(null);
    expect(jb.push(102, 320, payloadFor(102), 0, 2, 40)).to.equal(null);
    const out = new Int16Array(FRAME);
    expect(jb.pull(out)).to.equal(FrameKind.Audio);
    expect(out[0]).to.equal(101);
    expect(jb.push(100, 0, payloadFor(100), 0, 2, 45)).to.equal(JitterDrop.Late);
    expect(jb.stats).to.include({ duplicate: 1, late: 1, received: 3 });
  });

  it('waits for the target delay before playing', () => {
    const jb = makeBuffer();
    const out = new Int16Array(FRAME);
    jb.push(1, 160, payloadFor(1), 0, 2, 0);
    expect(jb.pull(out)).to.equal(FrameKind.Silence);
    expect(out.every((v) => v === 0)).to.equal(true);
    jb.push(2, 320, payloadFor(2), 0, 2, 20);
    expect(jb.bufferedMs).to.equal(40);
    expect(jb.pull(out)).to.equal(FrameKind.Audio);
    expect(out[0]).to.equal(2);
  });

  it('conceals a gap by repeating the last frame with a fade, then plays silence', () => {
    const jb = makeBuffer();
    const out = new Int16Array(FRAME);
    jb.push(1, 0, payloadFor(1), 0, 2, 0);
    jb.push(2, 160, payloadFor(2), 0, 2, 20);
    expect(jb.pull(out)).to.equal(FrameKind.Audio);
    expect(jb.pull(out)).to.equal(FrameKind.Audio);
    expect(out[FRAME - 1]).to.equal(3);
    // The sender stops: 60 ms fade (3 frames), then silence.
    expect(jb.pull(out)).to.equal(FrameKind.Concealed);
    expect(out[0]).to.equal(3);
    expect(out[FRAME - 1]).to.be.below(3);
    let k = jb.pull(out);
    expect(k).to.equal(FrameKind.Concealed);
    k = jb.pull(out);
    expect(k).to.equal(FrameKind.Concealed);
    expect(jb.pull(out)).to.equal(FrameKind.Silence);
    expect(out.every((v) => v === 0)).to.equal(true);
    expect(jb.stats.underruns).to.equal(1);
  });

  it('conceals a lost packet in the middle of a stream', () => {
    const jb = makeBuffer();
    const out = new Int16Array(FRAME);
    for (const seq of [10, 11, 13, 14]) jb.push(seq, seq * 160, payloadFor(seq), 0, 2, seq * 20);
    const kinds: FrameKind[] = [];
    const markers: number[] = [];
    for (let i = 0; i < 4; i++) {
      kinds.push(jb.pull(out));
      markers.push(out[0]);
    }
    expect(kinds).to.deep.equal([FrameKind.Audio, FrameKind.Audio, FrameKind.Concealed, FrameKind.Audio]);
    expect(markers[0]).to.equal(11);
    expect(markers[1]).to.equal(12);
    expect(markers[3]).to.equal(14);
    expect(jb.stats.lost).to.equal(1);
  });

  it('raises its target delay with jitter, within the bounds', () => {
    const jb = makeBuffer();
    const rand = rng(7);
    expect(jb.targetDelayMs).to.equal(40);
    for (let i = 0; i < 500; i++) jb.push(i, i * 160, payloadFor(i), 0, 2, i * 20 + rand() * 80);
    expect(jb.jitterMs).to.be.greaterThan(15);
    expect(jb.targetDelayMs).to.be.greaterThan(60);
    expect(jb.targetDelayMs).to.be.at.most(200);
  });

  it('skips packets when the delay stays far above target', () => {
    const jb = makeBuffer();
    const out = new Int16Array(FRAME);
    // A burst of 10 packets (200 ms) then a steady stream: the buffer must shrink.
    let seq = 0;
    for (; seq < 10; seq++) jb.push(seq, seq * 160, payloadFor(seq), 0, 2, 200);
    for (let tick = 0; tick < 200; tick++) {
      jb.push(seq, seq * 160, payloadFor(seq), 0, 2, 200 + tick * 20);
      seq++;
      jb.pull(out);
    }
    expect(jb.stats.adaptDrops).to.be.greaterThan(0);
    expect(jb.bufferedMs).to.be.at.most(jb.targetDelayMs + 40);
  });

  it('restarts on a large sequence jump and resets the decoder', () => {
    const dec = new MarkerDecoder();
    const jb = makeBuffer(dec);
    jb.push(1, 0, payloadFor(1), 0, 2, 0);
    jb.push(5000, 0, payloadFor(5000), 0, 2, 20);
    expect(jb.stats.resets).to.equal(1);
    expect(dec.resets).to.equal(1);
    jb.push(5001, 160, payloadFor(5001), 0, 2, 40);
    const out = new Int16Array(FRAME);
    expect(jb.pull(out)).to.equal(FrameKind.Audio);
    expect(out[0]).to.equal(5001);
  });

  it('rejects oversized payloads', () => {
    const jb = makeBuffer();
    expect(jb.push(1, 0, new Uint8Array(4000), 0, 4000, 0)).to.equal(JitterDrop.TooLarge);
  });
});
