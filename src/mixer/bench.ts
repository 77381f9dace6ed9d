/**
 * The mixer's cost, for tools/bench (SPEC §12): one session of `participants`
 * `mix` participants, `talkers` of them sending a tone, run for `seconds` of
 * simulated 20 ms frames as fast as the CPU allows (no real-time waiting,
 * no sockets). Everything the live mixer does per frame runs: RTP parsing,
 * jitter buffers, decoding, resampling, mix-minus, encoding, RTP packetising.
 */
import { writeU16, writeU32 } from '../rtp/big-endian.js';
import { DropCounter } from '../runtime/drop-counter.js';
import { findMixerCodec } from './codecs.js';
import { FRAME_MS, MixerSession, newMixerCounters } from './mixer-session.js';

export interface MixerBenchOptions {
  readonly participants: number;
  /** 8000: every participant uses PCMU; 16000: G.722. */
  readonly rateHz: 8000 | 16000;
  /** Simulated audio time. */
  readonly seconds: number;
  /** Participants sending audio (default: all — the worst case). */
  readonly talkers?: number;
}

export interface MixerBenchResult {
  readonly participants: number;
  readonly talkers: number;
  readonly rateHz: number;
  readonly codec: string;
  readonly seconds: number;
  readonly frames: number;
  /** CPU time (user + system) spent mixing, ms. */
  readonly cpuMs: number;
  /** Wall time spent, ms. */
  readonly wallMs: number;
  /** Simulated audio time ÷ CPU time: how many such sessions one core could mix in real time. */
  readonly realtimeFactor: number;
  /** participants × realtimeFactor: mixed participants one core sustains. */
  readonly participantsPerCore: number;
  readonly packetsOut: number;
}

export function benchMixer(options: MixerBenchOptions): MixerBenchResult {
  const participants = Math.max(1, Math.floor(options.participants));
  const talkers = Math.min(participants, Math.max(0, Math.floor(options.talkers ?? participants)));
  const codec = findMixerCodec(options.rateHz === 16000 ? 'G722' : 'PCMU', 8000);
  if (codec === null) throw new Error('codec missing');
  const frames = Math.max(1, Math.round((options.seconds * 1000) / FRAME_MS));
  const counters = newMixerCounters();
  let sent = 0;
  const session = new MixerSession('bench', {
    transport: {
      send: () => {
        sent++;
        return true;
      },
    },
    counters,
    drops: new DropCounter(),
    cname: 'bench',
    random: (() => {
      let s = 1;
      return () => ((s = (s * 48271) % 0x7fffffff) / 0x7fffffff);
    })(),
  });
  const ids: string[] = [];
  for (let i = 0; i < participants; i++) {
    ids.push(`p${i}`);
    session.setOutput({ participantId: ids[i], codec, payloadType: options.rateHz === 16000 ? 9 : 0 });
  }

  // One 20 ms packet per talker, each a different tone, pre-encoded once.
  const sampleRate = codec.sampleRateHz;
  const pcm = new Int16Array(sampleRate / 50);
  const packets: Buffer[] = [];
  for (let t = 0; t < talkers; t++) {
    const f = 200 + 37 * t;
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(4000 * Math.sin((2 * Math.PI * f * i) / sampleRate));
    const pkt = Buffer.alloc(12 + codec.frameBytes);
    pkt[0] = 0x80;
    pkt[1] = options.rateHz === 16000 ? 9 : 0;
    writeU32(pkt, 8, 0x1000 + t);
    codec.createEncoder().encode(pcm, pcm.length, pkt, 12);
    packets.push(pkt);
  }

  const tsStep = codec.rtpClockRateHz / 50;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let f = 0; f < frames; f++) {
    const now = f * FRAME_MS;
    for (let t = 0; t < talkers; t++) {
      const pkt = packets[t];
      writeU16(pkt, 2, f);
      writeU32(pkt, 4, f * tsStep);
      session.onRtp(ids[t], ids[t], codec, 1, pkt, now);
    }
    session.tick(now);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const realtimeFactor = (frames * FRAME_MS) / Math.max(cpuMs, 0.001);
  return {
    participants,
    talkers,
    rateHz: options.rateHz,
    codec: `${codec.name}/${codec.rtpClockRateHz}`,
    seconds: (frames * FRAME_MS) / 1000,
    frames,
    cpuMs: Math.round(cpuMs * 10) / 10,
    wallMs: Math.round(wallMs * 10) / 10,
    realtimeFactor: Math.round(realtimeFactor * 10) / 10,
    participantsPerCore: Math.round(participants * realtimeFactor),
    packetsOut: sent,
  };
}
