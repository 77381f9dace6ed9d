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
 * Control packets on the RTCP relay port start with an RTCP version-2 byte
 * (0x80–0xBF) instead, so the first byte tells them apart (isRelayShim).
 */

export const RELAY_SHIM_SIZE = 8;
export const RELAY_SHIM_MAGIC = 0x52;
export const RELAY_SHIM_VERSION = 1;
export const RELAY_MAX_HOPS = 8;

const OFFSET_MAGIC = 0;
const OFFSET_VERSION_MEDIUM = 1;
const OFFSET_HOPS = 2;
const OFFSET_RESERVED = 3;
const OFFSET_RELAY_ID = 4;
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
} as const;
export type RelayShimDrop = (typeof RelayShimDrop)[keyof typeof RelayShimDrop];

/** A decoded shim; preallocate and reuse. */
export class RelayShim {
  medium: RelayMedium = RelayMedium.Audio;
  hopCount = 0;
  relayId = 0;
  /** Absolute offset and length of the inner RTP/RTCP packet. */
  payloadOffset = 0;
  payloadLength = 0;
}

/** True when the datagram starts like a relay shim (0x52) rather than RTP/RTCP. */
export function isRelayShim(buf: Uint8Array, offset = 0): boolean {
  return buf.length > offset && buf[offset] === RELAY_SHIM_MAGIC;
}

/**
 * Decodes the shim at buf[offset] without allocating. A datagram with no
 * packet after the shim is dropped (relay_empty); so are hop counts 0 and
 * above RELAY_MAX_HOPS, other versions, media and a non-zero byte 3.
 */
export function parseRelayShim(buf: Uint8Array, out: RelayShim, offset = 0, length = buf.length - offset): RelayShimDrop | null {
  if (offset < 0 || length < RELAY_SHIM_SIZE || offset + length > buf.length) return RelayShimDrop.TooShort;
  if (buf[offset + OFFSET_MAGIC] !== RELAY_SHIM_MAGIC) return RelayShimDrop.BadMagic;
  const vm = buf[offset + OFFSET_VERSION_MEDIUM];
  if (vm >> VERSION_SHIFT !== RELAY_SHIM_VERSION) return RelayShimDrop.BadVersion;
  const medium = vm & MEDIUM_MASK;
  if (medium !== RelayMedium.Audio && medium !== RelayMedium.Video) return RelayShimDrop.BadMedium;
  const hops = buf[offset + OFFSET_HOPS];
  if (hops === 0) return RelayShimDrop.BadHopCount;
  if (hops > RELAY_MAX_HOPS) return RelayShimDrop.HopLimit;
  if (buf[offset + OFFSET_RESERVED] !== 0) return RelayShimDrop.BadReserved;
  if (length === RELAY_SHIM_SIZE) return RelayShimDrop.Empty;
  const r = offset + OFFSET_RELAY_ID;
  out.medium = medium;
  out.hopCount = hops;
  out.relayId = ((buf[r] << 24) | (buf[r + 1] << 16) | (buf[r + 2] << 8) | buf[r + 3]) >>> 0;
  out.payloadOffset = offset + RELAY_SHIM_SIZE;
  out.payloadLength = length - RELAY_SHIM_SIZE;
  return null;
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
  const r = offset + OFFSET_RELAY_ID;
  out[r] = (relayId >>> 24) & 0xff;
  out[r + 1] = (relayId >>> 16) & 0xff;
  out[r + 2] = (relayId >>> 8) & 0xff;
  out[r + 3] = relayId & 0xff;
  return RELAY_SHIM_SIZE;
}

/** Allocates shim + packet (tests, tools). */
export function encodeRelayDatagram(medium: RelayMedium, hopCount: number, relayId: number, packet: Uint8Array): Buffer {
  const out = Buffer.alloc(RELAY_SHIM_SIZE + packet.length);
  if (writeRelayShim(medium, hopCount, relayId, out, 0) === 0) throw new RangeError('bad hop count or relay id');
  out.set(packet, RELAY_SHIM_SIZE);
  return out;
}
