/**
 * The codecs the mixer can decode and encode (SPEC §13), by SDP encoding name
 * and RTP clock rate. Opus is absent: no pure-JS/WASM opus library is a
 * dependency of the project (see docs), so an opus-only participant in `mix`
 * mode gets no mixed audio, and opus inputs are not mixed.
 */
import { G722Decoder, G722Encoder } from './g722.js';
import { decodePcma, decodePcmu, encodePcma, encodePcmu } from './g711.js';
import { decodeL16, encodeL16 } from './l16.js';
import type { FrameDecoder } from './jitter-buffer.js';

export interface FrameEncoder {
  /** Encodes `count` samples (at the codec's sample rate) into `out` at `offset`; returns bytes written. */
  encode(pcm: Int16Array, count: number, out: Uint8Array, offset: number): number;
  reset(): void;
  /** Frees what the encoder holds outside the JS heap; it is not used afterwards. */
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

const CODECS: readonly MixerCodec[] = [
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

/** The mixer's codec for an SDP encoding (name case-insensitive), or null when it cannot mix it. */
export function findMixerCodec(name: string, clockRateHz: number): MixerCodec | null {
  const upper = name.toUpperCase();
  for (const c of CODECS) if (c.name === upper && c.rtpClockRateHz === clockRateHz) return c;
  return null;
}

/** Names of the encodings the mixer supports, for docs and SDP (SPEC §4: "any codec the mixer supports"). */
export function mixerCodecNames(): readonly string[] {
  return CODECS.map((c) => `${c.name}/${c.rtpClockRateHz}`);
}
