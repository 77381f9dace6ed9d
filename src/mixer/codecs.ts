/**
 * The codecs the mixer can decode and encode (SPEC §13), by SDP encoding name
 * and RTP clock rate. Opus (RFC 7587) comes from opusscript (libopus built to
 * WASM), loaded lazily: when it cannot be loaded, opus is simply not offered
 * (see opusUnavailableReason()).
 */
import { createRequire } from 'node:module';
import { G722Decoder, G722Encoder } from './g722.js';
import { decodePcma, decodePcmu, encodePcma, encodePcmu } from './g711.js';
import { decodeL16, encodeL16 } from './l16.js';
import type { FrameDecoder } from './jitter-buffer.js';

export interface FrameEncoder {
  /** Encodes `count` samples (at the codec's sample rate) into `out` at `offset`; returns bytes written. */
  encode(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number;
  reset(): void;
  /** Frees what the encoder holds outside the JS heap (opus); it is not used afterwards. */
  dispose?(): void;
}

export interface MixerCodec {
  /** Upper-case SDP encoding name. */
  readonly name: string;
  /** RTP timestamp rate (a=rtpmap), e.g. 8000 for G722. */
  readonly rtpClockRateHz: number;
  /** Rate of the PCM the codec works on. */
  readonly sampleRateHz: number;
  /** Payload bytes of one 20 ms frame. */
  readonly frameBytes: number;
  /** True when encoding one frame does not depend on the previous ones (shared encodings are exact). */
  readonly stateless: boolean;
  createDecoder(channels: number): FrameDecoder;
  createEncoder(): FrameEncoder;
}

const pcmuDecoder: FrameDecoder = {
  samplesIn: (length) => length,
  decode: decodePcmu,
  reset: () => {},
};
const pcmaDecoder: FrameDecoder = {
  samplesIn: (length) => length,
  decode: decodePcma,
  reset: () => {},
};
const pcmuEncoder: FrameEncoder = { encode: encodePcmu, reset: () => {} };
const pcmaEncoder: FrameEncoder = { encode: encodePcma, reset: () => {} };
const l16Encoder: FrameEncoder = { encode: encodeL16, reset: () => {} };

function l16Decoder(channels: number): FrameDecoder {
  const ch = channels >= 1 && channels <= 8 ? channels : 1;
  return {
    samplesIn: (length) => Math.floor(length / (2 * ch)),
    decode: (payload, start, length, out, outOffset) => decodeL16(payload, start, length, out, outOffset, ch),
    reset: () => {},
  };
}

function g722Decoder(): FrameDecoder {
  const d = new G722Decoder();
  return {
    samplesIn: (length) => 2 * length,
    decode: (payload, start, length, out, outOffset) => d.decode(payload, start, length, out, outOffset),
    reset: () => d.reset(),
  };
}

function g711(name: string, decoder: FrameDecoder, encoder: FrameEncoder): MixerCodec {
  return {
    name,
    rtpClockRateHz: 8000,
    sampleRateHz: 8000,
    frameBytes: 160,
    stateless: true,
    createDecoder: () => decoder,
    createEncoder: () => encoder,
  };
}

function l16(rateHz: number): MixerCodec {
  return {
    name: 'L16',
    rtpClockRateHz: rateHz,
    sampleRateHz: rateHz,
    frameBytes: (rateHz / 50) * 2,
    stateless: true,
    createDecoder: (channels) => l16Decoder(channels),
    createEncoder: () => l16Encoder,
  };
}

const BASE_CODECS: readonly MixerCodec[] = [
  g711('PCMU', pcmuDecoder, pcmuEncoder),
  g711('PCMA', pcmaDecoder, pcmaEncoder),
  {
    name: 'G722',
    rtpClockRateHz: 8000, // RFC 3551 §4.5.2
    sampleRateHz: 16000,
    frameBytes: 160,
    stateless: false,
    createDecoder: () => g722Decoder(),
    createEncoder: () => new G722Encoder(),
  },
  l16(8000),
  l16(16000),
  l16(48000),
];

// Opus --------------------------------------------------------------------------

/**
 * The parts of an opusscript instance (0.1.x) the mixer uses. Its encode()/decode()
 * allocate a Buffer per call, so frames go through the instance's own WASM heap
 * views instead, exactly as those methods do: a PCM view holds one byte of the
 * little-endian samples per 16-bit element; the packet views hold bytes.
 * The shape is checked when the library is loaded.
 */
interface OpusHandler {
  _encode(pcmOffset: number, pcmBytes: number, packetPointer: number, frameSamples: number): number;
  _decode(packetPointer: number, packetBytes: number, pcmOffset: number): number;
}
interface OpusInstance {
  readonly handler: OpusHandler;
  readonly inPCM: Uint16Array;
  readonly inOpusPointer: number;
  readonly inOpus: Uint8Array;
  readonly outOpusPointer: number;
  readonly outOpus: Uint8Array;
  readonly outPCM: Uint16Array;
  setBitrate(bitsPerSecond: number): void;
  encoderCTL(ctl: number, arg: number): void;
  decoderCTL(ctl: number, arg: number): void;
  delete(): void;
}
type OpusConstructor = new (rateHz: number, channels: number, application: number) => OpusInstance;

/** Opus works on 16 kHz mono PCM here: wideband is the mix's highest rate, so no resampling. */
const OPUS_RATE_HZ = 16000;
const OPUS_FRAME = OPUS_RATE_HZ / 50;
const OPUS_APPLICATION_VOIP = 2048;
const OPUS_BITRATE = 32000;
const OPUS_RESET_STATE = 4028;
/** Largest packet of one frame (RFC 6716 §3.2.1: TOC byte + 1275). */
const OPUS_MAX_FRAME_BYTES = 1276;
/** Longest packet duration (120 ms) at OPUS_RATE_HZ. */
const OPUS_MAX_PACKET_SAMPLES = (OPUS_RATE_HZ * 120) / 1000;

let opusLoaded = false;
let opusCtor: OpusConstructor | null = null;
let opusError: string | null = null;
let opusLive = 0;

function isOpusInstance(x: unknown): x is OpusInstance {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  const h = o.handler as Record<string, unknown> | null | undefined;
  return (
    typeof h === 'object' && h !== null && typeof h._encode === 'function' && typeof h._decode === 'function' &&
    o.inPCM instanceof Uint16Array && o.outPCM instanceof Uint16Array &&
    o.inOpus instanceof Uint8Array && o.outOpus instanceof Uint8Array &&
    typeof o.inOpusPointer === 'number' && typeof o.outOpusPointer === 'number' &&
    typeof o.setBitrate === 'function' && typeof o.delete === 'function' &&
    typeof o.encoderCTL === 'function' && typeof o.decoderCTL === 'function'
  );
}

/** Loads opusscript once; on any failure opus stays unavailable and the reason is kept. */
function loadOpus(): OpusConstructor | null {
  if (opusLoaded) return opusCtor;
  opusLoaded = true;
  try {
    const required: unknown = createRequire(import.meta.url)('opusscript');
    if (typeof required !== 'function') throw new Error('opusscript does not export a constructor');
    const ctor = required as OpusConstructor;
    const probe: unknown = new ctor(OPUS_RATE_HZ, 1, OPUS_APPLICATION_VOIP);
    const ok = isOpusInstance(probe);
    if (typeof probe === 'object' && probe !== null && typeof (probe as { delete?: unknown }).delete === 'function') {
      (probe as { delete(): void }).delete();
    }
    if (!ok) throw new Error('opusscript instance has an unexpected shape (version other than 0.1.x?)');
    opusCtor = ctor;
  } catch (err) {
    opusError = err instanceof Error ? err.message : String(err);
    opusCtor = null;
  }
  return opusCtor;
}

function newOpus(ctor: OpusConstructor): OpusInstance {
  const o = new ctor(OPUS_RATE_HZ, 1, OPUS_APPLICATION_VOIP);
  opusLive++;
  return o;
}

function deleteOpus(o: OpusInstance): void {
  o.delete();
  opusLive--;
}

class OpusEncoder implements FrameEncoder {
  #o: OpusInstance | null;
  constructor(ctor: OpusConstructor) {
    this.#o = newOpus(ctor);
    this.#o.setBitrate(OPUS_BITRATE);
  }

  encode(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number {
    const o = this.#o;
    if (o === null || count !== OPUS_FRAME) return 0;
    const inPcm = o.inPCM;
    for (let i = 0; i < count; i++) {
      const v = pcm[i];
      inPcm[2 * i] = v & 0xff;
      inPcm[2 * i + 1] = (v >> 8) & 0xff;
    }
    const len = o.handler._encode(inPcm.byteOffset, 2 * count, o.outOpusPointer, count);
    if (len <= 0 || len > OPUS_MAX_FRAME_BYTES || offset + len > out.length) return 0;
    const packet = o.outOpus;
    for (let k = 0; k < len; k++) out[offset + k] = packet[k];
    return len;
  }

  reset(): void {
    this.#o?.encoderCTL(OPUS_RESET_STATE, 0);
  }

  dispose(): void {
    if (this.#o === null) return;
    deleteOpus(this.#o);
    this.#o = null;
  }
}

/** Decodes any opus packet (mono or stereo, any bandwidth) to 16 kHz mono. */
class OpusDecoder implements FrameDecoder {
  #o: OpusInstance | null;
  constructor(ctor: OpusConstructor) {
    this.#o = newOpus(ctor);
  }

  samplesIn(_length: number): number {
    return OPUS_MAX_PACKET_SAMPLES; // an upper bound: the duration is in the packet, not its length
  }

  decode(payload: Uint8Array, start: number, length: number, out: Int16Array, outOffset: number): number {
    const o = this.#o;
    if (o === null || length <= 0 || length > o.inOpus.length) return 0;
    const packet = o.inOpus;
    for (let k = 0; k < length; k++) packet[k] = payload[start + k];
    const pcm = o.outPCM;
    let n = o.handler._decode(o.inOpusPointer, length, pcm.byteOffset);
    if (n <= 0) return 0; // invalid packet: the jitter buffer conceals
    if (n > out.length - outOffset) n = out.length - outOffset;
    for (let i = 0; i < n; i++) out[outOffset + i] = (pcm[2 * i] & 0xff) | ((pcm[2 * i + 1] & 0xff) << 8);
    return n;
  }

  reset(): void {
    this.#o?.decoderCTL(OPUS_RESET_STATE, 0);
  }

  dispose(): void {
    if (this.#o === null) return;
    deleteOpus(this.#o);
    this.#o = null;
  }
}

function opusCodec(ctor: OpusConstructor): MixerCodec {
  return {
    name: 'OPUS',
    rtpClockRateHz: 48000, // RFC 7587 §4.1: always 48000, whatever the coded bandwidth
    sampleRateHz: OPUS_RATE_HZ,
    frameBytes: OPUS_MAX_FRAME_BYTES,
    stateless: false,
    createDecoder: () => new OpusDecoder(ctor),
    createEncoder: () => new OpusEncoder(ctor),
  };
}

let codecs: readonly MixerCodec[] | null = null;

function allCodecs(): readonly MixerCodec[] {
  if (codecs === null) {
    const ctor = loadOpus();
    codecs = ctor === null ? BASE_CODECS : [...BASE_CODECS, opusCodec(ctor)];
  }
  return codecs;
}

/** Why opus is not among the mixer's codecs (opusscript failed to load), or null when it is. */
export function opusUnavailableReason(): string | null {
  allCodecs();
  return opusError;
}

/** Opus encoders and decoders alive (each holds WASM memory until disposed). */
export function opusInstanceCount(): number {
  return opusLive;
}

// -------------------------------------------------------------------------------

/** The mixer's codec for an SDP encoding (name case-insensitive), or null when it cannot mix it. */
export function findMixerCodec(name: string, clockRateHz: number): MixerCodec | null {
  const upper = name.toUpperCase();
  for (const c of allCodecs()) if (c.name === upper && c.rtpClockRateHz === clockRateHz) return c;
  return null;
}

/** Names of the encodings the mixer supports, for docs and SDP (SPEC §4: "any codec the mixer supports"). */
export function mixerCodecNames(): readonly string[] {
  return allCodecs().map((c) => (c.name === 'OPUS' ? `opus/${c.rtpClockRateHz}` : `${c.name}/${c.rtpClockRateHz}`));
}
