/**
 * The relay shim between interconnected reflectors (SPEC §6): 8 bytes before
 * an unchanged RTP or RTCP packet on the RTP and RTCP relay ports.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  0x52 ('R')   |version|medium |   hop count   |       0       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |          RELAY_ID of the sending reflector for the session    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  RTP or RTCP packet, unchanged ...            |
 *
 *    version 1; medium 0 audio, 1 video; hop count 1 when first relayed,
 *    dropped above RELAY_MAX_HOPS.
 *
 * Version 2 (interconnection graphs with cycles, docs/protocol.md) keeps these
 * 8 bytes, with 2 in the version nibble, and adds 8 more before the packet:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      ORIGIN: NODE_ID of the reflector the packet entered at    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   ORIGIN_SEQ: the origin's counter per session and flow        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *    ORIGIN is never 0. RELAY_ID stays the sending (previous-hop) reflector's
 *    id for the session; ORIGIN and ORIGIN_SEQ travel unchanged hop by hop.
 *
 * Version 3 (the protected relay of a link with a secret) adds SEQ, a u64
 * per-direction counter (the AEAD nonce), after the 16 bytes of version 2;
 * then the AES-256-GCM ciphertext of the RTP/RTCP packet and the 16-byte tag.
 * The 24 header bytes are the AEAD's associated data (relay-crypto.ts).
 *
 * Control packets on the RTCP relay port start with an RTCP version-2 byte
 * (0x80–0xBF) instead, so the first byte tells them apart (isRelayShim).
 */
import { readU32, writeU32 } from './big-endian.js';

export const RELAY_SHIM_SIZE = 8;
/** Size of the version-2 shim (origin-tagged). */
export const RELAY_SHIM2_SIZE = 16;
/** Size of the version-3 header (protected relay). */
export const RELAY_SHIM3_SIZE = 24;
/** AEAD tag after a version-3 ciphertext. */
export const RELAY_SHIM3_TAG_SIZE = 16;
export const RELAY_SHIM_MAGIC = 0x52;
export const RELAY_SHIM_VERSION = 1;
export const RELAY_SHIM_VERSION2 = 2;
export const RELAY_SHIM_VERSION3 = 3;
export const RELAY_MAX_HOPS = 8;

const OFFSET_MAGIC = 0;
const OFFSET_VERSION_MEDIUM = 1;
const OFFSET_HOPS = 2;
const OFFSET_RESERVED = 3;
const OFFSET_RELAY_ID = 4;
const OFFSET_ORIGIN = 8;
const OFFSET_ORIGIN_SEQ = 12;
const OFFSET_SEQ = 16;
const VERSION_SHIFT = 4;
const MEDIUM_MASK = 0x0f;

export const RelayMedium = { Audio: 0, Video: 1 } as const;
export type RelayMedium = (typeof RelayMedium)[keyof typeof RelayMedium];

export const RelayShimDrop = {
  TooShort: 'relay_too_short',
  BadMagic: 'relay_bad_magic',
  BadVersion: 'relay_bad_version',
  BadMedium: 'relay_bad_medium',
  BadHopCount: 'relay_bad_hop_count',
  HopLimit: 'relay_hop_limit',
  BadReserved: 'relay_bad_reserved',
  Empty: 'relay_empty',
  /** A version-2 shim with ORIGIN 0. */
  BadOrigin: 'relay_bad_origin',
  /** A version-3 SEQ of 0 or at/above 2^53. */
  BadSeq: 'relay_bad_seq',
} as const;
export type RelayShimDrop = (typeof RelayShimDrop)[keyof typeof RelayShimDrop];

/** A decoded shim; preallocate and reuse. */
export class RelayShim {
  /** 1 or 2. */
  version = RELAY_SHIM_VERSION;
  medium: RelayMedium = RelayMedium.Audio;
  hopCount = 0;
  relayId = 0;
  /** Version 2 only (0 in version 1): NODE_ID of the origin reflector and its sequence number. */
  origin = 0;
  originSeq = 0;
  /** Version 3 only: the per-direction SEQ (the AEAD nonce); payload is ciphertext + tag. */
  seq = 0;
  /** Absolute offset and length of the inner RTP/RTCP packet. */
  payloadOffset = 0;
  payloadLength = 0;
}

/** True when the datagram starts like a relay shim (0x52) rather than RTP/RTCP. */
export function isRelayShim(buf: Uint8Array, offset = 0): boolean {
  return buf.length > offset && buf[offset] === RELAY_SHIM_MAGIC;
}

/**
 * Decodes the shim (version 1 or 2) at buf[offset] without allocating. A
 * datagram with no packet after the shim is dropped (relay_empty); so are hop
 * counts 0 and above RELAY_MAX_HOPS, other versions, media, a non-zero byte 3
 * and (version 2) ORIGIN 0.
 */
export function parseRelayShim(buf: Uint8Array, out: RelayShim, offset = 0, length = buf.length - offset): RelayShimDrop | null {
  if (offset < 0 || length < RELAY_SHIM_SIZE || offset + length > buf.length) return RelayShimDrop.TooShort;
  if (buf[offset + OFFSET_MAGIC] !== RELAY_SHIM_MAGIC) return RelayShimDrop.BadMagic;
  const vm = buf[offset + OFFSET_VERSION_MEDIUM];
  const version = vm >> VERSION_SHIFT;
  if (version !== RELAY_SHIM_VERSION && version !== RELAY_SHIM_VERSION2 && version !== RELAY_SHIM_VERSION3) return RelayShimDrop.BadVersion;
  const size = version === RELAY_SHIM_VERSION ? RELAY_SHIM_SIZE : version === RELAY_SHIM_VERSION2 ? RELAY_SHIM2_SIZE : RELAY_SHIM3_SIZE;
  if (length < size) return RelayShimDrop.TooShort;
  const medium = vm & MEDIUM_MASK;
  if (medium !== RelayMedium.Audio && medium !== RelayMedium.Video) return RelayShimDrop.BadMedium;
  const hops = buf[offset + OFFSET_HOPS];
  if (hops === 0) return RelayShimDrop.BadHopCount;
  if (hops > RELAY_MAX_HOPS) return RelayShimDrop.HopLimit;
  if (buf[offset + OFFSET_RESERVED] !== 0) return RelayShimDrop.BadReserved;
  if (length === size) return RelayShimDrop.Empty;
  if (version === RELAY_SHIM_VERSION3 && length <= size + RELAY_SHIM3_TAG_SIZE) return RelayShimDrop.TooShort;
  let origin = 0;
  let originSeq = 0;
  let seq = 0;
  if (version !== RELAY_SHIM_VERSION) {
    origin = readU32(buf, offset + OFFSET_ORIGIN);
    if (origin === 0) return RelayShimDrop.BadOrigin;
    originSeq = readU32(buf, offset + OFFSET_ORIGIN_SEQ);
  }
  if (version === RELAY_SHIM_VERSION3) {
    const hi = readU32(buf, offset + OFFSET_SEQ);
    const lo = readU32(buf, offset + OFFSET_SEQ + 4);
    if (hi >= 0x20_0000 || (hi === 0 && lo === 0)) return RelayShimDrop.BadSeq;
    seq = hi * 0x1_0000_0000 + lo;
  }
  out.seq = seq;
  out.version = version;
  out.medium = medium;
  out.hopCount = hops;
  out.relayId = readU32(buf, offset + OFFSET_RELAY_ID);
  out.origin = origin;
  out.originSeq = originSeq;
  out.payloadOffset = offset + size;
  out.payloadLength = length - size;
  return null;
}

/**
 * Writes a version-2 shim at out[offset]. Returns RELAY_SHIM2_SIZE, or 0 when
 * `out` is too small or a value is out of range (origin 0 included).
 */
export function writeRelayShim2(
  medium: RelayMedium, hopCount: number, relayId: number, origin: number, originSeq: number, out: Uint8Array, offset = 0,
): number {
  if (offset < 0 || offset + RELAY_SHIM2_SIZE > out.length) return 0;
  if (!Number.isInteger(hopCount) || hopCount < 1 || hopCount > 0xff) return 0;
  if (!Number.isInteger(relayId) || relayId < 0 || relayId > 0xffffffff) return 0;
  if (!Number.isInteger(origin) || origin < 1 || origin > 0xffffffff) return 0;
  if (!Number.isInteger(originSeq) || originSeq < 0 || originSeq > 0xffffffff) return 0;
  out[offset + OFFSET_MAGIC] = RELAY_SHIM_MAGIC;
  out[offset + OFFSET_VERSION_MEDIUM] = (RELAY_SHIM_VERSION2 << VERSION_SHIFT) | (medium & MEDIUM_MASK);
  out[offset + OFFSET_HOPS] = hopCount;
  out[offset + OFFSET_RESERVED] = 0;
  writeU32(out, offset + OFFSET_RELAY_ID, relayId);
  writeU32(out, offset + OFFSET_ORIGIN, origin);
  writeU32(out, offset + OFFSET_ORIGIN_SEQ, originSeq);
  return RELAY_SHIM2_SIZE;
}

/**
 * Writes a version-3 header (protected relay) at out[offset]; `seq` a safe integer ≥ 1.
 * Returns RELAY_SHIM3_SIZE, or 0 when something is out of range.
 */
export function writeRelayShim3(
  medium: RelayMedium, hopCount: number, relayId: number, origin: number, originSeq: number, seq: number,
  out: Uint8Array, offset = 0,
): number {
  if (offset + RELAY_SHIM3_SIZE > out.length) return 0;
  if (!Number.isSafeInteger(seq) || seq < 1) return 0;
  if (writeRelayShim2(medium, hopCount, relayId, origin, originSeq, out, offset) === 0) return 0;
  out[offset + OFFSET_VERSION_MEDIUM] = (RELAY_SHIM_VERSION3 << VERSION_SHIFT) | (medium & MEDIUM_MASK);
  writeU32(out, offset + OFFSET_SEQ, Math.floor(seq / 0x1_0000_0000));
  writeU32(out, offset + OFFSET_SEQ + 4, seq >>> 0);
  return RELAY_SHIM3_SIZE;
}

/** Allocates a version-2 shim + packet (tests, tools). */
export function encodeRelayDatagram2(
  medium: RelayMedium, hopCount: number, relayId: number, origin: number, originSeq: number, packet: Uint8Array,
): Buffer {
  const out = Buffer.alloc(RELAY_SHIM2_SIZE + packet.length);
  if (writeRelayShim2(medium, hopCount, relayId, origin, originSeq, out, 0) === 0) throw new RangeError('bad shim value');
  out.set(packet, RELAY_SHIM2_SIZE);
  return out;
}

/**
 * Writes a shim at out[offset] (also used to rewrite a received shim in place
 * before relaying it on). Returns RELAY_SHIM_SIZE, or 0 when `out` is too small
 * or hop count / relay id are out of range.
 */
export function writeRelayShim(medium: RelayMedium, hopCount: number, relayId: number, out: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + RELAY_SHIM_SIZE > out.length) return 0;
  if (!Number.isInteger(hopCount) || hopCount < 1 || hopCount > 0xff) return 0;
  if (!Number.isInteger(relayId) || relayId < 0 || relayId > 0xffffffff) return 0;
  out[offset + OFFSET_MAGIC] = RELAY_SHIM_MAGIC;
  out[offset + OFFSET_VERSION_MEDIUM] = (RELAY_SHIM_VERSION << VERSION_SHIFT) | (medium & MEDIUM_MASK);
  out[offset + OFFSET_HOPS] = hopCount;
  out[offset + OFFSET_RESERVED] = 0;
  writeU32(out, offset + OFFSET_RELAY_ID, relayId);
  return RELAY_SHIM_SIZE;
}

/** Allocates shim + packet (tests, tools). */
export function encodeRelayDatagram(medium: RelayMedium, hopCount: number, relayId: number, packet: Uint8Array): Buffer {
  const out = Buffer.alloc(RELAY_SHIM_SIZE + packet.length);
  if (writeRelayShim(medium, hopCount, relayId, out, 0) === 0) throw new RangeError('bad hop count or relay id');
  out.set(packet, RELAY_SHIM_SIZE);
  return out;
}
