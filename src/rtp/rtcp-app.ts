/**
 * RTCP APP, application-defined (RFC 3550 §6.7).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P| subtype |   PT=APP=204  |             length            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           SSRC/CSRC                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                          name (ASCII)                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                   application-dependent data                ...
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The data is a multiple of 32 bits (the length field guarantees it).
 */
import { readU32, writeU32 } from './big-endian.js';
import { RTCP_HEADER_SIZE, RTCP_MAX_COUNT, RtcpPacketType, type RtcpPacketView, fits, rtcpBodyLength, writeRtcpHeader } from './rtcp-compound.js';

export const RTCP_APP_HEADER_SIZE = 12;
const OFFSET_SSRC = 4;
const OFFSET_NAME = 8;
const OFFSET_DATA = 12;
const WORD = 4;

export const RtcpAppDrop = {
  WrongType: 'rtcp_app_wrong_type',
  TooShort: 'rtcp_app_too_short',
} as const;
export type RtcpAppDrop = (typeof RtcpAppDrop)[keyof typeof RtcpAppDrop];

/** A decoded APP packet; preallocate and reuse. */
export class RtcpApp {
  subtype = 0;
  ssrc = 0;
  /** The 4 name octets as a big-endian u32 (e.g. 0x52464c58 for "RFLX"). */
  name = 0;
  /** Absolute offset and length of the application data, padding excluded. */
  dataOffset = 0;
  dataLength = 0;
}

/** Decodes the APP packet `view` of `buf` into `out` without allocating. */
export function parseApp(buf: Buffer, view: RtcpPacketView, out: RtcpApp): RtcpAppDrop | null {
  if (view.packetType !== RtcpPacketType.APP) return RtcpAppDrop.WrongType;
  const body = rtcpBodyLength(view);
  if (body < RTCP_APP_HEADER_SIZE - RTCP_HEADER_SIZE || view.offset + view.length > buf.length) return RtcpAppDrop.TooShort;
  const o = view.offset;
  out.subtype = view.count;
  out.ssrc = readU32(buf, o + OFFSET_SSRC);
  out.name = readU32(buf, o + OFFSET_NAME);
  out.dataOffset = o + OFFSET_DATA;
  out.dataLength = body - (RTCP_APP_HEADER_SIZE - RTCP_HEADER_SIZE);
  return null;
}

const APP_NAME_RE = /^[\x20-\x7e]{4}$/;

/** The u32 of a 4-character ASCII name ("RFLX" → 0x52464c58); throws RangeError for anything else. */
export function appName(name: string): number {
  if (!APP_NAME_RE.test(name)) throw new RangeError('APP name must be 4 ASCII characters');
  return readU32(Buffer.from(name, 'latin1'), 0);
}

export interface AppInit {
  subtype: number;
  ssrc: number;
  /** A u32 or 4 ASCII characters. */
  name: number | string;
  /** Zero-padded to a multiple of 4 on the wire. */
  data?: Uint8Array;
}

export function appSize(app: AppInit): number {
  return RTCP_APP_HEADER_SIZE + Math.ceil((app.data?.length ?? 0) / WORD) * WORD;
}

/**
 * Writes an APP packet at out[offset]; returns bytes written, 0 when `out` is too small, the
 * subtype is not 5 bits or a string name is not 4 ASCII characters.
 */
export function writeApp(app: AppInit, out: Uint8Array, offset: number): number {
  const size = appSize(app);
  if (!Number.isInteger(app.subtype) || app.subtype < 0 || app.subtype > RTCP_MAX_COUNT || !fits(out, offset, size)) return 0;
  if (typeof app.name === 'string' && !APP_NAME_RE.test(app.name)) return 0;
  writeRtcpHeader(out, offset, RtcpPacketType.APP, app.subtype, size);
  writeU32(out, offset + OFFSET_SSRC, app.ssrc);
  writeU32(out, offset + OFFSET_NAME, typeof app.name === 'number' ? app.name : appName(app.name));
  const data = app.data ?? new Uint8Array(0);
  out.set(data, offset + OFFSET_DATA);
  out.fill(0, offset + OFFSET_DATA + data.length, offset + size);
  return size;
}

/** Allocates an APP packet; throws RangeError where writeApp returns 0. */
export function encodeApp(app: AppInit): Buffer {
  const out = Buffer.alloc(appSize(app));
  if (writeApp(app, out, 0) === 0) throw new RangeError('APP: subtype is 5 bits, a name 4 ASCII characters');
  return out;
}
