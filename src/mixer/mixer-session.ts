/**
 * One session's mixing state (SPEC §13): an input per audio source (a local
 * participant, or an SSRC relayed from a peer) with its decoder, jitter buffer
 * and resampler; an output per `mix` participant with its encoder, SSRC,
 * sequence number and timestamp. tick() runs once per 20 ms frame of the
 * mixer clock: pull one frame from every input, sum once, and send each output
 * the sum minus its own input, encoded in its codec, with the contributing
 * SSRCs in the CSRC list (RFC 3550 §7.1 mixer rules).
 *
 * Everything a frame touches is preallocated when an input or output is
 * (re)configured; tick() and onRtp() do not allocate.
 */
import type { DropCounter } from '../runtime/drop-counter.js';
import { readU16, writeU16 } from '../rtp/big-endian.js';
import { RtcpCompoundReader, RtcpPacketType, RtcpPacketView } from '../rtp/rtcp-compound.js';
import { RtcpReportBlock } from '../rtp/rtcp-rr.js';
import { RtcpSenderReport, ntpFromUnixMs, ntpMiddle32, parseSenderReport, senderReportSize, writeSenderReport } from '../rtp/rtcp-sr.js';
import { SdesType, sdesSize, writeSdes } from '../rtp/rtcp-sdes.js';
import { RTP_FIXED_HEADER_SIZE, RTP_MAX_CSRCS, RtpHeader, parseRtpHeader, writeRtpHeader, type RtpHeaderFields } from '../rtp/rtp-header.js';
import { RtpSeqState, seqAdd, tsAdd } from '../rtp/seq.js';
import type { MixerCodec, FrameEncoder } from './codecs.js';
import { FrameKind, JitterBuffer, type FrameDecoder } from './jitter-buffer.js';
import { addToSum, clearSum, mixMinus } from './mix.js';
import { Resampler } from './resample.js';

export const FRAME_MS = 20;
const FRAMES_PER_SECOND = 1000 / FRAME_MS;
/** Packets an output cycles through, so a buffer is rewritten only long after send() read it. */
const PACKET_RING = 8;
const MAX_MIX_FRAME = 16000 / FRAMES_PER_SECOND;

export const MixerDrop = {
  RtpMalformed: 'mixer_rtp_malformed',
  NoPayload: 'mixer_rtp_no_payload',
  JitterLate: 'mixer_jb_late',
  JitterDuplicate: 'mixer_jb_duplicate',
  JitterTooLarge: 'mixer_jb_payload_too_large',
  NoDestination: 'mixer_no_destination',
} as const;

/** How the mixer reaches a participant (the core's sendTo for audio). */
export interface MixerTransport {
  send(participantId: string, rtcp: boolean, packet: Buffer): boolean;
}

export interface MixerCounters {
  rtpIn: number;
  framesMixed: number;
  rtpOut: number;
  rtcpOut: number;
  rtcpIn: number;
  concealedFrames: number;
  sharedEncodings: number;
  /** RFC 4733 telephone-event packets received, and regenerated into mixed streams. */
  telephoneEventsIn: number;
  telephoneEventsOut: number;
}

export function newMixerCounters(): MixerCounters {
  return {
    rtpIn: 0, framesMixed: 0, rtpOut: 0, rtcpOut: 0, rtcpIn: 0, concealedFrames: 0, sharedEncodings: 0,
    telephoneEventsIn: 0, telephoneEventsOut: 0,
  };
}

/** What an output needs to know about its participant. */
export interface OutputSpec {
  readonly participantId: string;
  readonly codec: MixerCodec;
  /** The payload type this participant expects for the codec. */
  readonly payloadType: number;
  /** Its telephone-event payload type and clock rate (RFC 4733); absent: it gets no events. */
  readonly telephoneEventPt?: number;
  readonly telephoneEventRateHz?: number;
}

function randomU32(random: () => number): number {
  return Math.floor(random() * 0x100000000) >>> 0;
}

class MixerInput {
  ssrc = 0;
  codec: MixerCodec;
  channels: number;
  decoder: FrameDecoder;
  jb: JitterBuffer;
  decodeFrame: Int16Array;
  resampler: Resampler | null = null;
  readonly frame = new Int16Array(MAX_MIX_FRAME);
  contributing = false;
  lastPacketMs = 0;
  readonly seq = new RtpSeqState();
  seqStarted = false;
  /** Middle 32 bits of the NTP time of the source's last SR, and when it came (ms). */
  lastSr = 0;
  lastSrAtMs = 0;

  constructor(
    readonly key: string,
    readonly participantId: string | null,
    codec: MixerCodec,
    channels: number,
    mixRateHz: number,
  ) {
    this.codec = codec;
    this.channels = channels;
    this.decodeFrame = new Int16Array(codec.sampleRateHz / FRAMES_PER_SECOND);
    this.decoder = codec.createDecoder(channels);
    this.jb = this.#newJitterBuffer();
    this.setMixRate(mixRateHz);
  }

  #newJitterBuffer(): JitterBuffer {
    return new JitterBuffer(this.decoder, {
      rtpClockRateHz: this.codec.rtpClockRateHz,
      sampleRateHz: this.codec.sampleRateHz,
      frameSamples: this.codec.sampleRateHz / FRAMES_PER_SECOND,
    });
  }

  /** A new codec (re-INVITE or PT switch): new decoder and buffer. Allocates; rare. */
  setCodec(codec: MixerCodec, channels: number, mixRateHz: number): void {
    this.decoder.dispose?.();
    this.codec = codec;
    this.channels = channels;
    this.decodeFrame = new Int16Array(codec.sampleRateHz / FRAMES_PER_SECOND);
    this.decoder = codec.createDecoder(channels);
    this.jb = this.#newJitterBuffer();
    this.contributing = false;
    this.setMixRate(mixRateHz);
  }

  setMixRate(mixRateHz: number): void {
    this.resampler = this.codec.sampleRateHz === mixRateHz ? null : new Resampler(this.codec.sampleRateHz, mixRateHz);
  }

  dispose(): void {
    this.decoder.dispose?.();
  }
}

class MixerOutput {
  readonly ssrc: number;
  seq: number;
  timestamp: number;
  codec: MixerCodec;
  payloadType: number;
  encoder: FrameEncoder;
  resampler: Resampler | null = null;
  readonly mixFrame = new Int16Array(MAX_MIX_FRAME);
  codecFrame: Int16Array;
  packets: Buffer[];
  ring = 0;
  first = true;
  packetCount = 0;
  octetCount = 0;
  lastSentMs = 0;
  lastReportMs = -Infinity;
  /** Telephone-event PT and clock rate of this participant (rate 0: none negotiated). */
  tePt = 0;
  teRateHz = 0;
  /** The event being regenerated: its source, timestamp there, and the timestamp given it here. */
  teSource = '';
  teInTimestamp = -1;
  teOutTimestamp = 0;

  constructor(
    readonly participantId: string,
    spec: OutputSpec,
    mixRateHz: number,
    random: () => number,
  ) {
    this.ssrc = randomU32(random);
    this.seq = randomU32(random) & 0xffff;
    this.timestamp = randomU32(random);
    this.codec = spec.codec;
    this.payloadType = spec.payloadType;
    this.encoder = spec.codec.createEncoder();
    this.codecFrame = new Int16Array(spec.codec.sampleRateHz / FRAMES_PER_SECOND);
    this.packets = MixerOutput.#ring(spec.codec);
    this.#setTelephoneEvent(spec);
    this.setMixRate(mixRateHz);
  }

  #setTelephoneEvent(spec: OutputSpec): void {
    const pt = spec.telephoneEventPt;
    const rate = spec.telephoneEventRateHz;
    const ok = pt !== undefined && rate !== undefined && pt >= 0 && pt <= 127 && rate > 0;
    this.tePt = ok ? pt : 0;
    this.teRateHz = ok ? rate : 0;
  }

  static #ring(codec: MixerCodec): Buffer[] {
    const size = RTP_FIXED_HEADER_SIZE + 4 * RTP_MAX_CSRCS + codec.frameBytes;
    const ring: Buffer[] = [];
    for (let i = 0; i < PACKET_RING; i++) ring.push(Buffer.alloc(size));
    return ring;
  }

  /** The datagram of ring slot `slot` with `cc` CSRCs and a `length`-byte payload; views are made once. */
  datagram(slot: number, cc: number, length: number): Buffer {
    const size = RTP_FIXED_HEADER_SIZE + 4 * cc + length;
    const key = slot * (RTP_MAX_CSRCS + 1) + cc;
    let v = this.#views[key];
    if (v === undefined || v.length !== size) {
      v = this.packets[slot].subarray(0, size);
      this.#views[key] = v;
    }
    return v;
  }

  #views: (Buffer | undefined)[] = new Array<Buffer | undefined>(PACKET_RING * (RTP_MAX_CSRCS + 1));

  /** Codec change (re-INVITE): same SSRC, continuing sequence; timestamps keep running. */
  setCodec(spec: OutputSpec, mixRateHz: number): void {
    const changed = spec.codec !== this.codec;
    this.payloadType = spec.payloadType;
    this.#setTelephoneEvent(spec);
    if (!changed) return;
    this.encoder.dispose?.();
    this.codec = spec.codec;
    this.encoder = spec.codec.createEncoder();
    this.codecFrame = new Int16Array(spec.codec.sampleRateHz / FRAMES_PER_SECOND);
    this.packets = MixerOutput.#ring(spec.codec);
    this.#views = new Array<Buffer | undefined>(PACKET_RING * (RTP_MAX_CSRCS + 1));
    this.first = true;
    this.setMixRate(mixRateHz);
  }

  setMixRate(mixRateHz: number): void {
    this.resampler = this.codec.sampleRateHz === mixRateHz ? null : new Resampler(mixRateHz, this.codec.sampleRateHz);
  }

  dispose(): void {
    this.encoder.dispose?.();
  }
}

/** The encoded whole-sum frame of one stateless codec, shared by listeners who contribute nothing. */
interface SharedEncoding {
  codec: MixerCodec | null;
  length: number;
  readonly bytes: Uint8Array;
}

export interface MixerSessionOptions {
  readonly transport: MixerTransport;
  readonly counters: MixerCounters;
  readonly drops: DropCounter;
  /** RTCP SDES CNAME of the mixer's streams. */
  readonly cname: string;
  readonly random?: () => number;
}

export class MixerSession {
  readonly name: string;
  readonly #inputs = new Map<string, MixerInput>();
  readonly #outputs = new Map<string, MixerOutput>();
  readonly #transport: MixerTransport;
  readonly #counters: MixerCounters;
  readonly #drops: DropCounter;
  readonly #cname: string;
  readonly #random: () => number;
  #mixRateHz = 8000;
  readonly #sum = new Int32Array(MAX_MIX_FRAME);
  readonly #sharedPcm = new Int16Array(MAX_MIX_FRAME);
  readonly #csrcs = new Uint32Array(RTP_MAX_CSRCS);
  /** The header of the next packet sent (reused). */
  readonly #out: RtpHeaderFields = {
    padding: false, extension: false, marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
    csrcCount: 0, csrcs: this.#csrcs, extensionProfile: 0, extensionLength: 0,
  };
  readonly #shared: SharedEncoding[] = [];
  #sharedCount = 0;
  readonly #rtp = new RtpHeader();
  readonly #rtcpReader = new RtcpCompoundReader();
  readonly #rtcpView = new RtcpPacketView();
  readonly #sr = new RtcpSenderReport();

  constructor(name: string, options: MixerSessionOptions) {
    this.name = name;
    this.#transport = options.transport;
    this.#counters = options.counters;
    this.#drops = options.drops;
    this.#cname = options.cname;
    this.#random = options.random ?? Math.random;
    for (let i = 0; i < 4; i++) this.#shared.push({ codec: null, length: 0, bytes: new Uint8Array(2048) });
  }

  get mixRateHz(): number {
    return this.#mixRateHz;
  }

  get inputCount(): number {
    return this.#inputs.size;
  }

  get outputCount(): number {
    return this.#outputs.size;
  }

  hasOutput(participantId: string): boolean {
    return this.#outputs.has(participantId);
  }

  outputIds(): string[] {
    return [...this.#outputs.keys()];
  }

  outputSsrc(participantId: string): number | undefined {
    return this.#outputs.get(participantId)?.ssrc;
  }

  /** Adds or updates the output of a `mix` participant. */
  setOutput(spec: OutputSpec): void {
    const existing = this.#outputs.get(spec.participantId);
    if (existing === undefined) {
      this.#outputs.set(spec.participantId, new MixerOutput(spec.participantId, spec, this.#mixRateHz, this.#random));
    } else {
      existing.setCodec(spec, this.#mixRateHz);
    }
    this.#updateMixRate();
  }

  removeOutput(participantId: string): void {
    const out = this.#outputs.get(participantId);
    if (out === undefined) return;
    this.#outputs.delete(participantId);
    out.dispose();
    this.#updateMixRate();
  }

  /** Forgets a participant entirely (it left). */
  removeParticipant(participantId: string): void {
    const input = this.#inputs.get(participantId);
    if (input !== undefined) {
      this.#inputs.delete(participantId);
      input.dispose();
    }
    this.removeOutput(participantId);
  }

  /** Frees every input and output (their codec state); the session is not used afterwards. */
  close(): void {
    for (const input of this.#inputs.values()) input.dispose();
    for (const out of this.#outputs.values()) out.dispose();
    this.#inputs.clear();
    this.#outputs.clear();
  }

  /** Drops inputs that sent nothing for `idleMs`. */
  expireInputs(nowMs: number, idleMs: number): void {
    let removed = false;
    for (const [key, input] of this.#inputs) {
      if (nowMs - input.lastPacketMs > idleMs) {
        this.#inputs.delete(key);
        input.dispose();
        removed = true;
      }
    }
    if (removed) this.#updateMixRate();
  }

  /** 16 kHz when any input or output is wideband (G.722, L16/16000 and /48000, opus decoded at 16 kHz), else 8 kHz. */
  #updateMixRate(): void {
    let rate = 8000;
    for (const i of this.#inputs.values()) if (i.codec.sampleRateHz > 8000) rate = 16000;
    for (const o of this.#outputs.values()) if (o.codec.sampleRateHz > 8000) rate = 16000;
    if (rate === this.#mixRateHz) return;
    this.#mixRateHz = rate;
    for (const i of this.#inputs.values()) i.setMixRate(rate);
    for (const o of this.#outputs.values()) o.setMixRate(rate);
  }

  /**
   * One audio RTP packet of this session. `key` identifies the source (participant
   * id, or "ssrc:N" for relayed media); `codec` is what its PT maps to.
   */
  onRtp(key: string, participantId: string | null, codec: MixerCodec, channels: number, packet: Buffer, nowMs: number): void {
    const h = this.#rtp;
    if (parseRtpHeader(packet, h) !== null) {
      this.#drops.add(MixerDrop.RtpMalformed);
      return;
    }
    if (h.payloadLength <= 0) {
      this.#drops.add(MixerDrop.NoPayload); // RFC 6263 keep-alive or empty
      return;
    }
    this.#counters.rtpIn++;
    let input = this.#inputs.get(key);
    if (input === undefined) {
      input = new MixerInput(key, participantId, codec, channels, this.#mixRateHz);
      this.#inputs.set(key, input);
      input.ssrc = h.ssrc;
      this.#updateMixRate();
    } else if (input.codec !== codec || input.channels !== channels) {
      input.setCodec(codec, channels, this.#mixRateHz);
      input.seqStarted = false;
      this.#updateMixRate();
    }
    if (input.ssrc !== h.ssrc) {
      input.ssrc = h.ssrc;
      input.jb.reset();
      input.seqStarted = false;
    }
    if (!input.seqStarted) {
      // RFC 3550 A.1 init_seq, without probation (the core already attributed the source).
      input.seq.init(h.sequenceNumber);
      input.seq.probation = 0;
      input.seq.received = 1;
      input.seqStarted = true;
    } else {
      input.seq.update(h.sequenceNumber);
    }
    input.lastPacketMs = nowMs;
    const r = input.jb.push(h.sequenceNumber, h.timestamp, packet, h.payloadOffset, h.payloadLength, nowMs);
    if (r !== null) {
      this.#drops.add(r === 'jb_late' ? MixerDrop.JitterLate : r === 'jb_duplicate' ? MixerDrop.JitterDuplicate : MixerDrop.JitterTooLarge);
    }
  }

  /**
   * An RFC 4733 telephone-event packet from source `key` (participant `participantId`, null when
   * relayed), at clock `inRateHz`. It is regenerated into every other output that negotiated
   * telephone-event: that output's SSRC and next sequence number, its telephone-event PT, and a
   * timestamp in its own clock: an event (a new source timestamp) starts at the output's current
   * timestamp, and every packet of it keeps that timestamp (RFC 4733 §2.5.1.2); durations are
   * scaled to the output's telephone-event rate. Marker, E bit, volume and the event code are kept.
   * Outputs without telephone-event get nothing. Events are a few packets per key press; each
   * regenerated packet is a new small buffer.
   */
  onTelephoneEvent(key: string, participantId: string | null, inRateHz: number, packet: Buffer): void {
    const h = this.#rtp;
    if (parseRtpHeader(packet, h) !== null || h.payloadLength < 4 || inRateHz <= 0) {
      this.#drops.add(MixerDrop.RtpMalformed);
      return;
    }
    this.#counters.telephoneEventsIn++;
    const blocks = Math.min(Math.floor(h.payloadLength / 4), 4);
    for (const out of this.#outputs.values()) {
      if (out.teRateHz === 0 || (participantId !== null && out.participantId === participantId)) continue;
      const newEvent = out.teSource !== key || out.teInTimestamp !== h.timestamp;
      if (newEvent) {
        out.teSource = key;
        out.teInTimestamp = h.timestamp;
        out.teOutTimestamp = Math.floor((out.timestamp * out.teRateHz) / out.codec.rtpClockRateHz) >>> 0;
      }
      const datagram = Buffer.allocUnsafe(RTP_FIXED_HEADER_SIZE + 4 * blocks);
      this.#writeHeader(datagram, newEvent || h.marker, out.tePt, out.seq, out.teOutTimestamp, out.ssrc, 0);
      for (let b = 0; b < blocks; b++) {
        const at = h.payloadOffset + 4 * b;
        const o = RTP_FIXED_HEADER_SIZE + 4 * b;
        datagram[o] = packet[at];
        datagram[o + 1] = packet[at + 1];
        const d = Math.round((readU16(packet, at + 2) * out.teRateHz) / inRateHz);
        writeU16(datagram, o + 2, Math.min(0xffff, d));
      }
      out.seq = seqAdd(out.seq, 1);
      if (this.#transport.send(out.participantId, false, datagram)) {
        out.packetCount++;
        out.octetCount += 4 * blocks;
        this.#counters.telephoneEventsOut++;
      } else {
        this.#drops.add(MixerDrop.NoDestination);
      }
    }
  }

  /** An audio RTCP packet from a local participant: remember its SR for our report blocks. */
  onRtcp(participantId: string, packet: Buffer, nowMs: number): void {
    this.#counters.rtcpIn++;
    const input = this.#inputs.get(participantId);
    if (input === undefined) return;
    const reader = this.#rtcpReader.reset(packet);
    const view = this.#rtcpView;
    for (let n = 0; n < 32 && reader.next(view) === null; n++) {
      if (view.packetType !== RtcpPacketType.SR) continue;
      if (parseSenderReport(packet, view, this.#sr) !== null) continue;
      if (this.#sr.ssrc !== input.ssrc) continue;
      input.lastSr = ntpMiddle32(this.#sr.ntpSec, this.#sr.ntpFrac);
      input.lastSrAtMs = nowMs;
    }
  }

  /** Mixes and sends one 20 ms frame to every output. */
  tick(nowMs: number): void {
    const frame = this.#mixRateHz / FRAMES_PER_SECOND;
    const sum = this.#sum;
    clearSum(sum, frame);
    for (const input of this.#inputs.values()) {
      const kind = input.jb.pull(input.decodeFrame);
      if (kind === FrameKind.Silence) {
        if (input.contributing) {
          input.contributing = false;
          input.resampler?.reset();
        }
        continue;
      }
      if (kind === FrameKind.Concealed) this.#counters.concealedFrames++;
      input.contributing = true;
      if (input.resampler === null) input.frame.set(input.decodeFrame);
      else input.resampler.process(input.decodeFrame, input.decodeFrame.length, input.frame, 0);
      addToSum(sum, input.frame, frame);
    }
    this.#sharedCount = 0;
    for (const out of this.#outputs.values()) this.#sendFrame(out, frame, nowMs);
    this.#counters.framesMixed++;
  }

  /** Writes the RTP header (RFC 3550 §5.1) at packet[0]; the CSRCs are the first `cc` of #csrcs. */
  #writeHeader(packet: Buffer, marker: boolean, payloadType: number, seq: number, timestamp: number, ssrc: number, cc: number): void {
    const h = this.#out;
    h.marker = marker;
    h.payloadType = payloadType;
    h.sequenceNumber = seq;
    h.timestamp = timestamp;
    h.ssrc = ssrc;
    h.csrcCount = cc;
    writeRtpHeader(h, packet, 0);
  }

  #sendFrame(out: MixerOutput, frame: number, nowMs: number): void {
    const own = this.#inputs.get(out.participantId);
    const ownFrame = own !== undefined && own.contributing ? own.frame : null;

    // CSRC list: every contributing input but the listener's own (RFC 3550 §7.1), at most 15.
    let cc = 0;
    for (const input of this.#inputs.values()) {
      if (cc === RTP_MAX_CSRCS) break;
      if (input.contributing && input !== own) this.#csrcs[cc++] = input.ssrc;
    }

    const slot = out.ring;
    const packet = out.packets[slot];
    out.ring = (slot + 1) % PACKET_RING;
    const payloadOffset = RTP_FIXED_HEADER_SIZE + 4 * cc;
    const codec = out.codec;
    let length: number;
    if (ownFrame === null && codec.stateless && codec.sampleRateHz === this.#mixRateHz) {
      length = this.#sharedPayload(codec, frame, packet, payloadOffset);
    } else {
      mixMinus(this.#sum, ownFrame, frame, out.mixFrame);
      let pcm: Int16Array = out.mixFrame;
      let samples = frame;
      if (out.resampler !== null) {
        samples = out.resampler.process(out.mixFrame, frame, out.codecFrame, 0);
        pcm = out.codecFrame;
      }
      length = out.encoder.encode(pcm, samples, packet, payloadOffset);
    }

    this.#writeHeader(packet, out.first, out.payloadType, out.seq, out.timestamp, out.ssrc, cc);
    const datagram = out.datagram(slot, cc, length);

    out.seq = seqAdd(out.seq, 1);
    out.timestamp = tsAdd(out.timestamp, codec.rtpClockRateHz / FRAMES_PER_SECOND);
    if (this.#transport.send(out.participantId, false, datagram)) {
      out.first = false;
      out.packetCount++;
      out.octetCount += length;
      out.lastSentMs = nowMs;
      this.#counters.rtpOut++;
    } else {
      this.#drops.add(MixerDrop.NoDestination);
    }
  }

  /** Encodes the whole sum once per tick and codec; copies it for each further listener. */
  #sharedPayload(codec: MixerCodec, frame: number, packet: Buffer, offset: number): number {
    for (let i = 0; i < this.#sharedCount; i++) {
      const s = this.#shared[i];
      if (s.codec === codec) {
        const bytes = s.bytes;
        for (let k = 0; k < s.length; k++) packet[offset + k] = bytes[k];
        this.#counters.sharedEncodings++;
        return s.length;
      }
    }
    const pcm = this.#sharedPcm;
    mixMinus(this.#sum, null, frame, pcm);
    const length = codec.createEncoder().encode(pcm, frame, packet, offset);
    if (this.#sharedCount < this.#shared.length) {
      const s = this.#shared[this.#sharedCount++];
      s.codec = codec;
      s.length = length;
      const bytes = s.bytes;
      for (let k = 0; k < length; k++) bytes[k] = packet[offset + k];
    }
    return length;
  }

  /**
   * Sends each output whose report is due an RTCP SR (with a report block about the
   * participant's own audio, when we receive it) and SDES CNAME. `wallMs` is Unix time.
   */
  sendReports(nowMs: number, wallMs: number, intervalMs: number): void {
    for (const out of this.#outputs.values()) {
      if (out.packetCount === 0 || nowMs - out.lastReportMs < intervalMs) continue;
      out.lastReportMs = nowMs;
      const own = this.#inputs.get(out.participantId);
      const { ntpSec, ntpFrac } = ntpFromUnixMs(wallMs);
      const elapsedTs = Math.round(((nowMs - out.lastSentMs) * out.codec.rtpClockRateHz) / 1000);
      const reports: RtcpReportBlock[] = [];
      if (own !== undefined && own.seqStarted) {
        const rb = new RtcpReportBlock();
        rb.ssrc = own.ssrc;
        rb.fractionLost = own.seq.takeFractionLost();
        rb.packetsLost = own.seq.cumulativeLost;
        rb.highestSeq = own.seq.extendedMax;
        rb.jitter = Math.round((own.jb.jitterMs * own.codec.rtpClockRateHz) / 1000);
        rb.lastSr = own.lastSr;
        rb.delaySinceLastSr = own.lastSr === 0 ? 0 : Math.round(((nowMs - own.lastSrAtMs) * 65536) / 1000);
        reports.push(rb);
      }
      const sr = {
        ssrc: out.ssrc,
        ntpSec,
        ntpFrac,
        // The timestamp of the last packet sent plus the time since (RFC 3550 §6.4.1).
        rtpTimestamp: tsAdd(out.timestamp, elapsedTs - out.codec.rtpClockRateHz / FRAMES_PER_SECOND),
        packetCount: out.packetCount,
        octetCount: out.octetCount,
        reports,
      };
      const sdes = [{ ssrc: out.ssrc, items: [{ type: SdesType.CNAME, text: this.#cname }] }];
      const buf = Buffer.alloc(senderReportSize(sr) + sdesSize(sdes));
      const n = writeSenderReport(sr, buf, 0);
      writeSdes(sdes, buf, n);
      if (this.#transport.send(out.participantId, true, buf)) this.#counters.rtcpOut++;
    }
  }
}
