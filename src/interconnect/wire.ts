/**
 * The interconnect's view of the RTCP APP `RFLX` control codec (SPEC §7).
 *
 * TEMPORARY: src/rtp/rflx.ts is being written by the rtp owner; until it lands
 * this file carries a minimal private codec so the interconnect can be tested.
 * When it lands, the bodies below become thin calls to it (the exported
 * signatures here stay). The relay shim already comes from src/rtp/relay-shim.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RFLX_NAME, RflxTlv, type RflxFields, type RflxMessage } from '../rtp/rflx-types.js';
import { InterconnectDrop } from './drop-reasons.js';

const RTCP_APP_PT = 204;
const APP_HEADER_SIZE = 12;
const AUTH_SIZE = 16;

export interface DecodedControl {
  readonly message: RflxMessage;
  /** Where the RFLX APP packet sits in the datagram (AUTH covers exactly it). */
  readonly offset: number;
  readonly length: number;
}

type Kind = 'u16' | 'u32' | 'u64' | 'utf8' | 'b16' | 'b32';
const TLV_TABLE: Readonly<Record<number, readonly [keyof RflxFields, Kind]>> = {
  [RflxTlv.Title]: ['title', 'utf8'],
  [RflxTlv.ShareId]: ['shareId', 'u32'],
  [RflxTlv.Port]: ['port', 'u16'],
  [RflxTlv.Passkey]: ['passkey', 'b16'],
  [RflxTlv.Address]: ['address', 'utf8'],
  [RflxTlv.Sharer]: ['sharer', 'utf8'],
  [RflxTlv.Name]: ['name', 'utf8'],
  [RflxTlv.Size]: ['size', 'u64'],
  [RflxTlv.Sha256]: ['sha256', 'b32'],
  [RflxTlv.FileId]: ['fileId', 'u32'],
  [RflxTlv.Sender]: ['sender', 'utf8'],
  [RflxTlv.Code]: ['code', 'u16'],
  [RflxTlv.Reason]: ['reason', 'utf8'],
  [RflxTlv.ReflectorId]: ['reflectorId', 'utf8'],
  [RflxTlv.BootEpoch]: ['bootEpoch', 'u64'],
  [RflxTlv.Seq]: ['seq', 'u32'],
  [RflxTlv.Session]: ['session', 'utf8'],
  [RflxTlv.RelayId]: ['relayId', 'u32'],
  [RflxTlv.Count]: ['count', 'u32'],
  [RflxTlv.Timestamp]: ['timestamp', 'u64'],
  [RflxTlv.Auth]: ['auth', 'b16'],
  [RflxTlv.RequestId]: ['requestId', 'u32'],
};

/** Finds the RFLX APP packet in an RTCP (compound) datagram and decodes it. */
export function decodeControl(buf: Buffer): DecodedControl | string {
  let offset = 0;
  while (offset + 4 <= buf.length) {
    const b0 = buf[offset];
    if (b0 >> 6 !== 2) return InterconnectDrop.RflxMalformed;
    const length = (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > buf.length) return InterconnectDrop.RflxMalformed;
    if (buf[offset + 1] === RTCP_APP_PT && length >= APP_HEADER_SIZE && buf.readUInt32BE(offset + 8) === RFLX_NAME) {
      const message = parseApp(buf, offset, length);
      return message === null ? InterconnectDrop.RflxMalformed : { message, offset, length };
    }
    offset += length;
  }
  return InterconnectDrop.NotRflx;
}

function parseApp(buf: Buffer, start: number, length: number): RflxMessage | null {
  const end = start + length;
  const fields: RflxFields = {};
  const rec = fields as Record<string, unknown>;
  let p = start + APP_HEADER_SIZE;
  while (p < end) {
    const type = buf[p];
    if (type === 0) break;
    if (p + 3 > end) return null;
    const len = buf.readUInt16BE(p + 1);
    const v = p + 3;
    if (v + len > end) return null;
    const entry = TLV_TABLE[type];
    if (entry !== undefined) {
      const [name, kind] = entry;
      switch (kind) {
        case 'u16': if (len !== 2) return null; rec[name] = buf.readUInt16BE(v); break;
        case 'u32': if (len !== 4) return null; rec[name] = buf.readUInt32BE(v); break;
        case 'u64': if (len !== 8) return null; rec[name] = buf.readBigUInt64BE(v); break;
        case 'utf8': rec[name] = buf.toString('utf8', v, v + len); break;
        case 'b16': if (len !== 16) return null; rec[name] = Buffer.from(buf.subarray(v, v + len)); break;
        case 'b32': if (len !== 32) return null; rec[name] = Buffer.from(buf.subarray(v, v + len)); break;
      }
    }
    p = v + len;
  }
  return { subtype: buf[start] & 0x1f, ssrc: buf.readUInt32BE(start + 4), fields };
}

/** Encodes a bare RFLX APP packet; with a secret, AUTH is appended last and filled in. */
export function encodeControl(message: RflxMessage, secret?: string): Buffer {
  const parts: Buffer[] = [];
  const rec = message.fields as Record<string, unknown>;
  for (const [typeText, [name, kind]] of Object.entries(TLV_TABLE)) {
    const type = Number(typeText);
    if (type === RflxTlv.Auth) continue;
    const value = rec[name];
    if (value === undefined) continue;
    let v: Buffer;
    switch (kind) {
      case 'u16': v = Buffer.alloc(2); v.writeUInt16BE(value as number); break;
      case 'u32': v = Buffer.alloc(4); v.writeUInt32BE(value as number); break;
      case 'u64': v = Buffer.alloc(8); v.writeBigUInt64BE(value as bigint); break;
      case 'utf8': v = Buffer.from(value as string, 'utf8'); break;
      default: v = value as Buffer;
    }
    const h = Buffer.alloc(3);
    h[0] = type;
    h.writeUInt16BE(v.length, 1);
    parts.push(h, v);
  }
  if (secret !== undefined) {
    const h = Buffer.alloc(3);
    h[0] = RflxTlv.Auth;
    h.writeUInt16BE(AUTH_SIZE, 1);
    parts.push(h, Buffer.alloc(AUTH_SIZE));
  }
  const body = Buffer.concat(parts);
  const total = APP_HEADER_SIZE + Math.ceil(body.length / 4) * 4;
  const out = Buffer.alloc(total);
  out[0] = 0x80 | (message.subtype & 0x1f);
  out[1] = RTCP_APP_PT;
  out.writeUInt16BE(total / 4 - 1, 2);
  out.writeUInt32BE(message.ssrc >>> 0, 4);
  out.writeUInt32BE(RFLX_NAME, 8);
  body.copy(out, APP_HEADER_SIZE);
  if (secret !== undefined) {
    const authAt = APP_HEADER_SIZE + body.length - AUTH_SIZE;
    createHmac('sha256', secret).update(out).digest().copy(out, authAt, 0, AUTH_SIZE);
  }
  return out;
}

/** Checks the AUTH TLV (the last one) of the APP packet at buf[offset, offset+length). */
export function authenticControl(buf: Buffer, offset: number, length: number, secret: string): boolean {
  const pkt = Buffer.from(buf.subarray(offset, offset + length));
  // Walk the TLVs to find the last one and require it to be AUTH.
  let p = APP_HEADER_SIZE;
  let authAt = -1;
  while (p + 3 <= pkt.length && pkt[p] !== 0) {
    const len = pkt.readUInt16BE(p + 1);
    authAt = pkt[p] === RflxTlv.Auth && len === AUTH_SIZE ? p + 3 : -1;
    p += 3 + len;
  }
  if (authAt < 0 || authAt + AUTH_SIZE > pkt.length) return false;
  const got = Buffer.from(pkt.subarray(authAt, authAt + AUTH_SIZE));
  pkt.fill(0, authAt, authAt + AUTH_SIZE);
  const want = createHmac('sha256', secret).update(pkt).digest().subarray(0, AUTH_SIZE);
  return timingSafeEqual(got, want);
}
