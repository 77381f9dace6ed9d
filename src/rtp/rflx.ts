/**
 * The RTCP APP `RFLX` control codec (SPEC §7; AUTH of SPEC §6). Types and
 * numbers are in rflx-types.ts.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|0| subtype |   PT=APP=204  |             length            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 SSRC of the sender (0 from a reflector)       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |       'R'     |      'F'      |      'L'      |      'X'      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   TLV type    |      TLV length (value bytes) |  value ...    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :        ... further TLVs, no gaps ...  | 0 padding to 32 bits  :
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Integers are big-endian: u16 PORT, CODE; u32 SHARE_ID, FILE_ID, SEQ,
 * RELAY_ID, COUNT, REQUEST_ID; u64 SIZE, BOOT_EPOCH, TIMESTAMP. Fixed-size
 * byte strings: PASSKEY 16, SHA256 32, AUTH 16. The rest are UTF-8.
 *
 * With a secret the last TLV is AUTH: the first 16 bytes of
 * HMAC-SHA256(secret, the whole APP packet as sent, padding included, with the
 * 16 AUTH value bytes zeroed).
 *
 * This is the control path: parsing allocates the returned message.
 */
import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { readU16, readU32, readU64, writeU16, writeU32, writeU64 } from './big-endian.js';
import { RFLX_NAME, RflxSubtype, RflxTlv, type RflxFields, type RflxMessage } from './rflx-types.js';
import { RtcpCompoundReader, RtcpPacketType, RtcpPacketView, writeRtcpHeader } from './rtcp-compound.js';

export const RFLX_HEADER_SIZE = 12;
export const RFLX_TLV_HEADER_SIZE = 3;
export const RFLX_AUTH_SIZE = 16;
/** The largest RFLX packet the encoder builds: the IPv4 UDP payload limit. */
export const RFLX_MAX_SIZE = 65507;
const OFFSET_B0 = 0;
const OFFSET_PT = 1;
const OFFSET_LENGTH = 2;
const OFFSET_SSRC = 4;
const OFFSET_NAME = 8;
const VERSION_BITS = 0x80;
const VERSION_MASK = 0xc0;
const PADDING_MASK = 0x20;
const COUNT_MASK = 0x1f;
const WORD = 4;
const MAX_TLV_VALUE = 0xffff;

export const RflxDrop = {
  TooShort: 'rflx_too_short',
  BadLength: 'rflx_bad_length',
  BadVersion: 'rflx_bad_version',
  PaddingBit: 'rflx_padding_bit',
  NotApp: 'rflx_not_app',
  BadName: 'rflx_bad_name',
  UnknownSubtype: 'rflx_unknown_subtype',
  TlvTruncated: 'rflx_tlv_truncated',
  BadTlvLength: 'rflx_bad_tlv_length',
  DuplicateTlv: 'rflx_duplicate_tlv',
  BadUtf8: 'rflx_bad_utf8',
  BadAddress: 'rflx_bad_address',
  BadPadding: 'rflx_bad_padding',
  AuthNotLast: 'rflx_auth_not_last',
} as const;
export type RflxDropReason = (typeof RflxDrop)[keyof typeof RflxDrop];
export type RflxDrop = RflxDropReason;

type Kind = 'u16' | 'u32' | 'u64' | 'utf8' | 'bytes' | 'blob';
interface TlvSpec {
  readonly field: keyof RflxFields;
  readonly kind: Kind;
  /** Exact value size; -1 for variable (utf8, blob). */
  readonly size: number;
}

/** SPEC §7 TLV table: type → field, kind, fixed size. */
const TLV_SPECS: ReadonlyMap<number, TlvSpec> = new Map<number, TlvSpec>([
  [RflxTlv.Title, { field: 'title', kind: 'utf8', size: -1 }],
  [RflxTlv.ShareId, { field: 'shareId', kind: 'u32', size: 4 }],
  [RflxTlv.Port, { field: 'port', kind: 'u16', size: 2 }],
  [RflxTlv.Passkey, { field: 'passkey', kind: 'bytes', size: 16 }],
  [RflxTlv.Address, { field: 'address', kind: 'utf8', size: -1 }],
  [RflxTlv.Sharer, { field: 'sharer', kind: 'utf8', size: -1 }],
  [RflxTlv.Name, { field: 'name', kind: 'utf8', size: -1 }],
  [RflxTlv.Size, { field: 'size', kind: 'u64', size: 8 }],
  [RflxTlv.Sha256, { field: 'sha256', kind: 'bytes', size: 32 }],
  [RflxTlv.FileId, { field: 'fileId', kind: 'u32', size: 4 }],
  [RflxTlv.Sender, { field: 'sender', kind: 'utf8', size: -1 }],
  [RflxTlv.Code, { field: 'code', kind: 'u16', size: 2 }],
  [RflxTlv.Reason, { field: 'reason', kind: 'utf8', size: -1 }],
  [RflxTlv.ReflectorId, { field: 'reflectorId', kind: 'utf8', size: -1 }],
  [RflxTlv.BootEpoch, { field: 'bootEpoch', kind: 'u64', size: 8 }],
  [RflxTlv.Seq, { field: 'seq', kind: 'u32', size: 4 }],
  [RflxTlv.Session, { field: 'session', kind: 'utf8', size: -1 }],
  [RflxTlv.RelayId, { field: 'relayId', kind: 'u32', size: 4 }],
  [RflxTlv.Count, { field: 'count', kind: 'u32', size: 4 }],
  [RflxTlv.Timestamp, { field: 'timestamp', kind: 'u64', size: 8 }],
  [RflxTlv.Auth, { field: 'auth', kind: 'bytes', size: RFLX_AUTH_SIZE }],
  [RflxTlv.RequestId, { field: 'requestId', kind: 'u32', size: 4 }],
  [RflxTlv.NodeId, { field: 'nodeId', kind: 'u32', size: 4 }],
  [RflxTlv.Routes, { field: 'routes', kind: 'blob', size: -1 }],
  [RflxTlv.Origins, { field: 'origins', kind: 'blob', size: -1 }],
  [RflxTlv.Joins, { field: 'joins', kind: 'blob', size: -1 }],
]);

/** TLV types in the order the encoder writes them: ascending, AUTH last. */
const ENCODE_ORDER: readonly number[] = [...TLV_SPECS.keys()].filter((t) => t !== RflxTlv.Auth).sort((a, b) => a - b);

const KNOWN_SUBTYPES: ReadonlySet<number> = new Set<number>(Object.values(RflxSubtype));

function valueBytes(spec: TlvSpec, value: RflxFields[keyof RflxFields]): Buffer {
  const name = spec.field;
  switch (spec.kind) {
    case 'u16': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`RFLX ${name}: u16 expected`);
      const b = Buffer.alloc(2);
      writeU16(b, 0, value);
      return b;
    }
    case 'u32': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`RFLX ${name}: u32 expected`);
      const b = Buffer.alloc(4);
      writeU32(b, 0, value);
      return b;
    }
    case 'u64': {
      if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) throw new RangeError(`RFLX ${name}: u64 bigint expected`);
      const b = Buffer.alloc(8);
      writeU64(b, 0, value);
      return b;
    }
    case 'utf8': {
      if (typeof value !== 'string') throw new RangeError(`RFLX ${name}: string expected`);
      const b = Buffer.from(value, 'utf8');
      if (b.length > MAX_TLV_VALUE) throw new RangeError(`RFLX ${name}: longer than 65535 bytes`);
      return b;
    }
    case 'bytes': {
      if (!(value instanceof Uint8Array) || value.length !== spec.size) throw new RangeError(`RFLX ${name}: ${spec.size} bytes expected`);
      return Buffer.from(value);
    }
    case 'blob': {
      if (!(value instanceof Uint8Array) || value.length > MAX_TLV_VALUE) throw new RangeError(`RFLX ${name}: at most 65535 bytes expected`);
      return Buffer.from(value);
    }
  }
}

interface EncodedTlv {
  type: number;
  value: Buffer;
}

function collectTlvs(msg: RflxMessage, withAuth: boolean): EncodedTlv[] {
  const tlvs: EncodedTlv[] = [];
  const f = msg.fields;
  for (const type of ENCODE_ORDER) {
    const spec = TLV_SPECS.get(type);
    if (spec === undefined) continue;
    const v = f[spec.field];
    if (v !== undefined) tlvs.push({ type, value: valueBytes(spec, v) });
  }
  if (withAuth) {
    tlvs.push({ type: RflxTlv.Auth, value: Buffer.alloc(RFLX_AUTH_SIZE) });
  } else if (f.auth !== undefined) {
    const spec = TLV_SPECS.get(RflxTlv.Auth);
    if (spec !== undefined) tlvs.push({ type: RflxTlv.Auth, value: valueBytes(spec, f.auth) });
  }
  return tlvs;
}

function sizeOf(tlvs: readonly EncodedTlv[]): number {
  let n = RFLX_HEADER_SIZE;
  for (const t of tlvs) n += RFLX_TLV_HEADER_SIZE + t.value.length;
  return Math.ceil(n / WORD) * WORD;
}

/**
 * Encodes `msg` as a bare RTCP APP packet. TLVs are written in ascending type
 * order; with `secret`, AUTH is appended last and computed (any fields.auth is
 * ignored); without it, a given fields.auth is written last as is. Throws
 * RangeError on a caller's bug: a value of the wrong type, range or size, a
 * subtype above 31, or a packet over RFLX_MAX_SIZE.
 */
export function encodeRflx(msg: RflxMessage, secret?: string | Uint8Array): Buffer {
  if (!Number.isInteger(msg.subtype) || msg.subtype < 0 || msg.subtype > COUNT_MASK) throw new RangeError('RFLX subtype is 5 bits');
  if (!Number.isInteger(msg.ssrc) || msg.ssrc < 0 || msg.ssrc > 0xffffffff) throw new RangeError('RFLX ssrc is u32');
  const withAuth = secret !== undefined;
  const tlvs = collectTlvs(msg, withAuth);
  const size = sizeOf(tlvs);
  if (size > RFLX_MAX_SIZE) throw new RangeError(`RFLX packet of ${size} bytes exceeds ${RFLX_MAX_SIZE}`);
  const out = Buffer.alloc(size);
  writeRtcpHeader(out, 0, RtcpPacketType.APP, msg.subtype, size);
  writeU32(out, OFFSET_SSRC, msg.ssrc);
  writeU32(out, OFFSET_NAME, RFLX_NAME);
  let pos = RFLX_HEADER_SIZE;
  for (const t of tlvs) {
    out[pos] = t.type;
    writeU16(out, pos + 1, t.value.length);
    t.value.copy(out, pos + RFLX_TLV_HEADER_SIZE);
    pos += RFLX_TLV_HEADER_SIZE + t.value.length;
  }
  // Buffer.alloc zero-filled the padding and the AUTH placeholder.
  if (withAuth) {
    const authAt = pos - RFLX_AUTH_SIZE;
    createHmac('sha256', secret).update(out).digest().copy(out, authAt, 0, RFLX_AUTH_SIZE);
  }
  return out;
}

/** Checks the APP header of buf[offset, offset+length) as an RFLX packet. */
function checkHeader(buf: Buffer, offset: number, length: number): RflxDropReason | null {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < RFLX_HEADER_SIZE || offset + length > buf.length) {
    return RflxDrop.TooShort;
  }
  if (length % WORD !== 0) return RflxDrop.BadLength;
  const b0 = buf[offset + OFFSET_B0];
  if ((b0 & VERSION_MASK) !== VERSION_BITS) return RflxDrop.BadVersion;
  if ((b0 & PADDING_MASK) !== 0) return RflxDrop.PaddingBit;
  if (buf[offset + OFFSET_PT] !== RtcpPacketType.APP) return RflxDrop.NotApp;
  if ((readU16(buf, offset + OFFSET_LENGTH) + 1) * WORD !== length) return RflxDrop.BadLength;
  if (readU32(buf, offset + OFFSET_NAME) !== RFLX_NAME) return RflxDrop.BadName;
  if (!KNOWN_SUBTYPES.has(b0 & COUNT_MASK)) return RflxDrop.UnknownSubtype;
  return null;
}

/**
 * Walks the TLVs of a header-checked packet, calling `visit` for each. Checks
 * framing only: bounds, the zero padding, AUTH last. Returns a drop reason or
 * null; `visit` may return a drop reason to stop.
 */
function walkTlvs(
  buf: Buffer,
  offset: number,
  length: number,
  visit: (type: number, valueOffset: number, valueLength: number) => RflxDropReason | null,
): RflxDropReason | null {
  const end = offset + length;
  let pos = offset + RFLX_HEADER_SIZE;
  let sawAuth = false;
  while (pos < end) {
    const type = buf[pos];
    if (type === 0) {
      // SPEC §7: a type-0 byte ends the list; the rest is zero padding to 32 bits.
      if (end - pos >= WORD) return RflxDrop.BadPadding;
      for (let i = pos + 1; i < end; i++) if (buf[i] !== 0) return RflxDrop.BadPadding;
      return null;
    }
    if (pos + RFLX_TLV_HEADER_SIZE > end) return RflxDrop.TlvTruncated;
    const len = readU16(buf, pos + 1);
    const valueOffset = pos + RFLX_TLV_HEADER_SIZE;
    if (valueOffset + len > end) return RflxDrop.TlvTruncated;
    if (sawAuth) return RflxDrop.AuthNotLast;
    if (type === RflxTlv.Auth) sawAuth = true;
    const r = visit(type, valueOffset, len);
    if (r !== null) return r;
    pos = valueOffset + len;
  }
  return null;
}

/**
 * Decodes the RFLX APP packet at buf[offset, offset+length) (one packet, e.g.
 * a view of the compound walker or findRflxApp's answer). Unknown TLV types
 * are skipped; known ones must have their fixed size, appear once, and be
 * valid UTF-8 (ADDRESS a textual IP address). Never throws.
 */
export function parseRflx(buf: Buffer, offset: number, length: number): RflxMessage | RflxDropReason {
  const h = checkHeader(buf, offset, length);
  if (h !== null) return h;
  const fields: RflxFields = {};
  const seen = new Set<number>();
  const r = walkTlvs(buf, offset, length, (type, at, len) => {
    const spec = TLV_SPECS.get(type);
    if (spec === undefined) return null;
    if (seen.has(type)) return RflxDrop.DuplicateTlv;
    seen.add(type);
    if (spec.size >= 0 && len !== spec.size) return RflxDrop.BadTlvLength;
    switch (spec.kind) {
      case 'u16':
        assign(fields, spec.field, readU16(buf, at));
        break;
      case 'u32':
        assign(fields, spec.field, readU32(buf, at));
        break;
      case 'u64':
        assign(fields, spec.field, readU64(buf, at));
        break;
      case 'bytes':
      case 'blob':
        assign(fields, spec.field, Buffer.from(buf.subarray(at, at + len)));
        break;
      case 'utf8': {
        const bytes = buf.subarray(at, at + len);
        if (!isUtf8(bytes)) return RflxDrop.BadUtf8;
        const text = bytes.toString('utf8');
        if (type === RflxTlv.Address && isIP(text) === 0) return RflxDrop.BadAddress;
        assign(fields, spec.field, text);
        break;
      }
    }
    return null;
  });
  if (r !== null) return r;
  return { subtype: buf[offset + OFFSET_B0] & COUNT_MASK, ssrc: readU32(buf, offset + OFFSET_SSRC), fields };
}

/** Typed assignment of a decoded value to its field (the TLV table guarantees the pairing). */
function assign<K extends keyof RflxFields>(fields: RflxFields, key: K, value: RflxFields[K]): void {
  fields[key] = value;
}

const sharedReader = new RtcpCompoundReader();
const sharedView = new RtcpPacketView();

/**
 * Offset of the first RFLX APP packet in the (compound) RTCP packet
 * buf[offset, offset+length), or -1 when there is none or the compound is
 * malformed. Does not allocate: the reflector may call it per RTCP packet.
 * The packet's length is view-able as (u16 at offset+2 + 1) × 4.
 */
export function findRflxAppOffset(buf: Buffer, offset = 0, length = buf.length - offset): number {
  sharedReader.reset(buf, offset, length);
  let found = -1;
  let r: string | null;
  while ((r = sharedReader.next(sharedView)) === null) {
    if (
      found < 0 &&
      sharedView.packetType === RtcpPacketType.APP &&
      sharedView.length >= RFLX_HEADER_SIZE &&
      readU32(buf, sharedView.offset + OFFSET_NAME) === RFLX_NAME
    ) {
      found = sharedView.offset;
    }
  }
  return r === 'end' ? found : -1;
}

/** The RFLX APP packet inside a (compound) RTCP packet, or null. */
export function findRflxApp(buf: Buffer, offset = 0, length = buf.length - offset): { offset: number; length: number } | null {
  const at = findRflxAppOffset(buf, offset, length);
  if (at < 0) return null;
  return { offset: at, length: (readU16(buf, at + OFFSET_LENGTH) + 1) * WORD };
}

/**
 * True when the packet at buf[offset, offset+length) is a well-framed RFLX
 * packet whose last TLV is a 16-byte AUTH equal (constant-time compare) to the
 * first 16 bytes of HMAC-SHA256(secret, the packet with the AUTH value zeroed).
 */
export function verifyRflxAuth(buf: Buffer, offset: number, length: number, secret: string | Uint8Array): boolean {
  if (checkHeader(buf, offset, length) !== null) return false;
  let authAt = -1;
  let authLen = 0;
  const r = walkTlvs(buf, offset, length, (type, at, len) => {
    if (type === RflxTlv.Auth) {
      authAt = at;
      authLen = len;
    }
    return null;
  });
  if (r !== null || authAt < 0 || authLen !== RFLX_AUTH_SIZE) return false;
  const copy = Buffer.from(buf.subarray(offset, offset + length));
  copy.fill(0, authAt - offset, authAt - offset + RFLX_AUTH_SIZE);
  const mac = createHmac('sha256', secret).update(copy).digest().subarray(0, RFLX_AUTH_SIZE);
  return timingSafeEqual(mac, buf.subarray(authAt, authAt + RFLX_AUTH_SIZE));
}
