/**
 * STUN Binding on the keep-alive ports (RFC 5389 §6, §7.3, §15.2; SPEC §5).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0 0|     STUN Message Type     |         Message Length        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Magic Cookie                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Transaction ID (96 bits)                  |
 *    |                                                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Attribute Type        |        Attribute Length       |  (each attribute:
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   value padded to
 *    |                     Value (variable)                ....      |   32 bits, §15)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *    Message Type (§6): M11..M0 method bits interleaved with class bits C1 C0:
 *    |M11|M10|M9|M8|M7|C1|M6|M5|M4|C0|M3|M2|M1|M0|   Binding request 0x0001,
 *                                                     success response 0x0101.
 *
 *    XOR-MAPPED-ADDRESS (§15.2), type 0x0020:
 *    |0 0 0 0 0 0 0 0|    Family     |         X-Port                |
 *    |                X-Address (32 bits or 128 bits)                |
 *    X-Port = port ^ (cookie >> 16); IPv4 X-Address = address ^ cookie;
 *    IPv6 X-Address = address ^ (cookie ‖ transaction ID).
 *
 * The parser reads no attribute values; it only checks that they are bounded.
 * readStunAttributes() then locates the attributes of ICE connectivity checks
 * (RFC 8445 §7.1.1, §16.1) and the integrity attributes, which are verified with
 * stunIntegrityOk() (MESSAGE-INTEGRITY, §15.4: HMAC-SHA1 over the message up to
 * the attribute, with Message Length covering it) and stunFingerprintOk()
 * (FINGERPRINT, §15.5: CRC-32 of the message before it, xor 0x5354554e).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readU16, readU32, writeU16, writeU32 } from './big-endian.js';

/** RFC 5389 §6. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_SIZE = 20;
export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;
export const STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020;
export const STUN_ATTR_USERNAME = 0x0006;
export const STUN_ATTR_MESSAGE_INTEGRITY = 0x0008;
export const STUN_ATTR_PRIORITY = 0x0024;
export const STUN_ATTR_USE_CANDIDATE = 0x0025;
export const STUN_ATTR_FINGERPRINT = 0x8028;
export const STUN_ATTR_ICE_CONTROLLED = 0x8029;
export const STUN_ATTR_ICE_CONTROLLING = 0x802a;
/** HMAC-SHA1 output (MESSAGE-INTEGRITY value) and CRC-32 (FINGERPRINT value) sizes. */
export const STUN_INTEGRITY_SIZE = 20;
export const STUN_FINGERPRINT_SIZE = 4;
/** RFC 5389 §15.5: the CRC-32 is xor'ed with this ("STUN"). */
export const STUN_FINGERPRINT_XOR = 0x5354554e;
/** RFC 5389 §15.3: USERNAME is less than 513 bytes. */
export const STUN_MAX_USERNAME = 512;
export const STUN_FAMILY_IPV4 = 0x01;
export const STUN_FAMILY_IPV6 = 0x02;

const OFFSET_TYPE = 0;
const OFFSET_LENGTH = 2;
const OFFSET_COOKIE = 4;
export const STUN_OFFSET_TRANSACTION_ID = 8;
export const STUN_TRANSACTION_ID_SIZE = 12;
const TOP_BITS_MASK = 0xc0;
const ATTR_HEADER_SIZE = 4;
const WORD = 4;
const METHOD_MASK_LOW = 0x000f;
const METHOD_MASK_MID = 0x00e0;
const METHOD_MASK_HIGH = 0x3e00;
const CLASS_C0 = 0x0010;
const CLASS_C1 = 0x0100;
/** XOR-MAPPED-ADDRESS value: reserved, family, X-Port, then the address. */
const XMA_OFFSET_FAMILY = 1;
const XMA_OFFSET_PORT = 2;
const XMA_OFFSET_ADDRESS = 4;
const IPV4_SIZE = 4;
const IPV6_SIZE = 16;

export const StunDrop = {
  TooShort: 'stun_too_short',
  NotStun: 'stun_not_stun',
  BadCookie: 'stun_bad_cookie',
  BadLength: 'stun_bad_length',
  AttributeOverrun: 'stun_attribute_overrun',
  /** An attribute of a fixed size with another length, or FINGERPRINT not last (§15.4, §15.5). */
  BadAttribute: 'stun_bad_attribute',
} as const;
export type StunDrop = (typeof StunDrop)[keyof typeof StunDrop];

/** The STUN message classes (§6). */
export const StunClass = { Request: 0, Indication: 1, SuccessResponse: 2, ErrorResponse: 3 } as const;

/** A decoded STUN header; preallocate and reuse. */
export class StunMessage {
  type = 0;
  method = 0;
  messageClass = 0;
  /** Message Length: bytes of attributes after the 20-octet header. */
  length = 0;
  /** Offset of the 96-bit transaction ID. */
  transactionIdOffset = STUN_OFFSET_TRANSACTION_ID;
  attributeCount = 0;
}

/** Decodes and bounds-checks a STUN message without allocating. */
export function parseStun(buf: Uint8Array, out: StunMessage): StunDrop | null {
  if (buf.length < STUN_HEADER_SIZE) return StunDrop.TooShort;
  if ((buf[OFFSET_TYPE] & TOP_BITS_MASK) !== 0) return StunDrop.NotStun;
  if (readU32(buf, OFFSET_COOKIE) !== STUN_MAGIC_COOKIE) return StunDrop.BadCookie;
  const length = readU16(buf, OFFSET_LENGTH);
  if (length % WORD !== 0 || STUN_HEADER_SIZE + length !== buf.length) return StunDrop.BadLength;
  let pos = STUN_HEADER_SIZE;
  let count = 0;
  while (pos < buf.length) {
    if (pos + ATTR_HEADER_SIZE > buf.length) return StunDrop.AttributeOverrun;
    const valueLength = readU16(buf, pos + 2);
    pos += ATTR_HEADER_SIZE + Math.ceil(valueLength / WORD) * WORD;
    if (pos > buf.length) return StunDrop.AttributeOverrun;
    count++;
  }
  const type = readU16(buf, OFFSET_TYPE);
  out.type = type;
  out.method = (type & METHOD_MASK_LOW) | ((type & METHOD_MASK_MID) >> 1) | ((type & METHOD_MASK_HIGH) >> 2);
  out.messageClass = ((type & CLASS_C0) >> 4) | ((type & CLASS_C1) >> 7);
  out.length = length;
  out.transactionIdOffset = STUN_OFFSET_TRANSACTION_ID;
  out.attributeCount = count;
  return null;
}

const shared = new StunMessage();

/** True for a well-formed STUN Binding Request (RFC 5389 §7.3). */
export function isStunBindingRequest(buf: Uint8Array): boolean {
  return parseStun(buf, shared) === null && shared.type === STUN_BINDING_REQUEST;
}

/** Size of the Binding Success Response written for an address family. */
export function stunBindingSuccessSize(family: 4 | 6): number {
  return STUN_HEADER_SIZE + ATTR_HEADER_SIZE + XMA_OFFSET_ADDRESS + (family === 4 ? IPV4_SIZE : IPV6_SIZE);
}

const addrScratch = new Uint8Array(IPV6_SIZE);

/**
 * Writes at out[0] a Binding Success Response to the request in
 * `transactionIdSource` (its transaction ID is copied) carrying
 * XOR-MAPPED-ADDRESS for address:port. Returns the bytes written, or 0 when
 * the request is shorter than a STUN header, the address is not a textual
 * address of `family` (an IPv4-mapped IPv6 address counts as IPv4 for family
 * 4), the port is out of range, or `out` is too small.
 */
export function writeStunBindingSuccess(
  transactionIdSource: Uint8Array,
  address: string,
  port: number,
  family: 4 | 6,
  out: Uint8Array,
): number {
  const size = stunBindingSuccessSize(family);
  if (transactionIdSource.length < STUN_HEADER_SIZE || out.length < size) return 0;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return 0;
  const addrSize = family === 4 ? IPV4_SIZE : IPV6_SIZE;
  if (family === 4 ? !parseIpv4(stripMapped(address), addrScratch, 0) : !parseIpv6(address, addrScratch)) return 0;

  writeU16(out, OFFSET_TYPE, STUN_BINDING_SUCCESS);
  writeU16(out, OFFSET_LENGTH, size - STUN_HEADER_SIZE);
  writeU32(out, OFFSET_COOKIE, STUN_MAGIC_COOKIE);
  for (let i = 0; i < STUN_TRANSACTION_ID_SIZE; i++) {
    out[STUN_OFFSET_TRANSACTION_ID + i] = transactionIdSource[STUN_OFFSET_TRANSACTION_ID + i];
  }
  const attr = STUN_HEADER_SIZE;
  writeU16(out, attr, STUN_ATTR_XOR_MAPPED_ADDRESS);
  writeU16(out, attr + 2, XMA_OFFSET_ADDRESS + addrSize);
  const v = attr + ATTR_HEADER_SIZE;
  out[v] = 0;
  out[v + XMA_OFFSET_FAMILY] = family === 4 ? STUN_FAMILY_IPV4 : STUN_FAMILY_IPV6;
  writeU16(out, v + XMA_OFFSET_PORT, port ^ (STUN_MAGIC_COOKIE >>> 16));
  // XOR key: the cookie then the transaction ID, i.e. bytes 4..20 of the header just written.
  for (let i = 0; i < addrSize; i++) out[v + XMA_OFFSET_ADDRESS + i] = addrScratch[i] ^ out[OFFSET_COOKIE + i];
  return size;
}

/** Decoded XOR-MAPPED-ADDRESS of a response (control path and tests; allocates). */
export interface StunMappedAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** Finds and decodes XOR-MAPPED-ADDRESS in a well-formed STUN message, or null. */
export function readXorMappedAddress(buf: Uint8Array): StunMappedAddress | null {
  if (parseStun(buf, shared) !== null) return null;
  let pos = STUN_HEADER_SIZE;
  while (pos + ATTR_HEADER_SIZE <= buf.length) {
    const type = readU16(buf, pos);
    const len = readU16(buf, pos + 2);
    const v = pos + ATTR_HEADER_SIZE;
    if (type === STUN_ATTR_XOR_MAPPED_ADDRESS && len >= XMA_OFFSET_ADDRESS) {
      const fam = buf[v + XMA_OFFSET_FAMILY];
      const size = fam === STUN_FAMILY_IPV4 ? IPV4_SIZE : fam === STUN_FAMILY_IPV6 ? IPV6_SIZE : -1;
      if (size < 0 || len !== XMA_OFFSET_ADDRESS + size) return null;
      const port = readU16(buf, v + XMA_OFFSET_PORT) ^ (STUN_MAGIC_COOKIE >>> 16);
      const a = new Uint8Array(size);
      for (let i = 0; i < size; i++) a[i] = buf[v + XMA_OFFSET_ADDRESS + i] ^ buf[OFFSET_COOKIE + i];
      return { family: size === IPV4_SIZE ? 4 : 6, address: size === IPV4_SIZE ? a.join('.') : formatIpv6(a), port };
    }
    pos = v + Math.ceil(len / WORD) * WORD;
  }
  return null;
}

/** Builds a Binding Request with the given 12-byte transaction ID (tools and tests). */
export function encodeStunBindingRequest(transactionId: Uint8Array): Buffer {
  if (transactionId.length !== STUN_TRANSACTION_ID_SIZE) throw new RangeError('transaction ID is 12 bytes');
  const out = Buffer.alloc(STUN_HEADER_SIZE);
  writeU16(out, OFFSET_TYPE, STUN_BINDING_REQUEST);
  writeU32(out, OFFSET_COOKIE, STUN_MAGIC_COOKIE);
  out.set(transactionId, STUN_OFFSET_TRANSACTION_ID);
  return out;
}

function stripMapped(address: string): string {
  return address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && address.includes('.') ? address.slice(7) : address;
}

/** Dotted quad → 4 bytes at out[at]; false unless exactly four decimal octets. */
function parseIpv4(text: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // no leading zeros
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** Textual IPv6 (with ::, an embedded IPv4 tail, an optional %zone) → 16 bytes. */
function parseIpv6(text: string, out: Uint8Array): boolean {
  const zone = text.indexOf('%');
  const s = zone >= 0 ? text.slice(0, zone) : text;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups: number[] = [];
  const tail: number[] = [];
  const fill = (part: string, into: number[], last: boolean): boolean => {
    if (part === '') return true;
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (last && i === pieces.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(p, v4, 0)) return false;
        into.push(readU16(v4, 0), readU16(v4, 2));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
        into.push(parseInt(p, 16));
      }
    }
    return true;
  };
  if (halves.length === 1) {
    if (!fill(halves[0], groups, true) || groups.length !== 8) return false;
  } else {
    if (!fill(halves[0], groups, false) || !fill(halves[1], tail, true)) return false;
    if (groups.length + tail.length > 7) return false;
    while (groups.length + tail.length < 8) groups.push(0);
    groups.push(...tail);
  }
  for (let i = 0; i < 8; i++) writeU16(out, 2 * i, groups[i]);
  return true;
}

/** 16 bytes → RFC 5952 text (lower case, longest zero run as ::). */
function formatIpv6(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(readU16(a, 2 * i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

// ── ICE connectivity checks: USERNAME, MESSAGE-INTEGRITY, FINGERPRINT ──────────

/**
 * Offsets of the attributes of a check, found by readStunAttributes(); -1 = absent.
 * Offsets point at the attribute's 4-byte header. Preallocate and reuse.
 */
export class StunAttributes {
  usernameOffset = -1;
  usernameLength = 0;
  integrityOffset = -1;
  fingerprintOffset = -1;
  priority = -1;
  useCandidate = false;
  controlling = false;
  controlled = false;
}

/**
 * Locates the ICE check attributes of a message that parseStun() accepted. Rules
 * (RFC 5389 §15.4/§15.5): MESSAGE-INTEGRITY is 20 bytes, FINGERPRINT 4 bytes and the
 * last attribute; attributes after MESSAGE-INTEGRITY other than FINGERPRINT are
 * ignored; USERNAME is 1–512 bytes; PRIORITY is 4 bytes. Returns null or a drop reason.
 */
export function readStunAttributes(buf: Uint8Array, out: StunAttributes): StunDrop | null {
  out.usernameOffset = -1;
  out.usernameLength = 0;
  out.integrityOffset = -1;
  out.fingerprintOffset = -1;
  out.priority = -1;
  out.useCandidate = false;
  out.controlling = false;
  out.controlled = false;
  let pos = STUN_HEADER_SIZE;
  while (pos < buf.length) {
    if (pos + ATTR_HEADER_SIZE > buf.length) return StunDrop.AttributeOverrun;
    const type = readU16(buf, pos);
    const len = readU16(buf, pos + 2);
    const next = pos + ATTR_HEADER_SIZE + Math.ceil(len / WORD) * WORD;
    if (next > buf.length) return StunDrop.AttributeOverrun;
    if (out.fingerprintOffset >= 0) return StunDrop.BadAttribute; // FINGERPRINT must be last
    if (type === STUN_ATTR_FINGERPRINT) {
      if (len !== STUN_FINGERPRINT_SIZE) return StunDrop.BadAttribute;
      out.fingerprintOffset = pos;
    } else if (out.integrityOffset >= 0) {
      // §15.4: attributes after MESSAGE-INTEGRITY (but FINGERPRINT) are ignored.
    } else if (type === STUN_ATTR_MESSAGE_INTEGRITY) {
      if (len !== STUN_INTEGRITY_SIZE) return StunDrop.BadAttribute;
      out.integrityOffset = pos;
    } else if (type === STUN_ATTR_USERNAME) {
      if (len === 0 || len > STUN_MAX_USERNAME || out.usernameOffset >= 0) return StunDrop.BadAttribute;
      out.usernameOffset = pos;
      out.usernameLength = len;
    } else if (type === STUN_ATTR_PRIORITY) {
      if (len !== 4) return StunDrop.BadAttribute;
      out.priority = readU32(buf, pos + ATTR_HEADER_SIZE);
    } else if (type === STUN_ATTR_USE_CANDIDATE) {
      if (len !== 0) return StunDrop.BadAttribute;
      out.useCandidate = true;
    } else if (type === STUN_ATTR_ICE_CONTROLLING) {
      if (len !== 8) return StunDrop.BadAttribute;
      out.controlling = true;
    } else if (type === STUN_ATTR_ICE_CONTROLLED) {
      if (len !== 8) return StunDrop.BadAttribute;
      out.controlled = true;
    }
    pos = next;
  }
  return null;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / ITU-T V.42, as zlib) of buf[start, end). */
export function crc32(buf: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** True when the FINGERPRINT attribute at `fpOffset` matches the message before it (§15.5). */
export function stunFingerprintOk(buf: Uint8Array, fpOffset: number): boolean {
  if (fpOffset < STUN_HEADER_SIZE || fpOffset + ATTR_HEADER_SIZE + STUN_FINGERPRINT_SIZE !== buf.length) return false;
  const expected = (crc32(buf, 0, fpOffset) ^ STUN_FINGERPRINT_XOR) >>> 0;
  return readU32(buf, fpOffset + ATTR_HEADER_SIZE) === expected;
}

const hmacHeader = Buffer.alloc(STUN_HEADER_SIZE);

/** HMAC-SHA1 over buf[0, miOffset) with Message Length set to end just after MESSAGE-INTEGRITY (§15.4). */
function stunHmac(buf: Uint8Array, miOffset: number, key: Uint8Array): Buffer {
  hmacHeader.set(buf.subarray(0, STUN_HEADER_SIZE));
  writeU16(hmacHeader, OFFSET_LENGTH, miOffset + ATTR_HEADER_SIZE + STUN_INTEGRITY_SIZE - STUN_HEADER_SIZE);
  const h = createHmac('sha1', key);
  h.update(hmacHeader);
  h.update(buf.subarray(STUN_HEADER_SIZE, miOffset));
  return h.digest();
}

/**
 * True when the MESSAGE-INTEGRITY attribute at `miOffset` is the HMAC-SHA1 of the
 * message with `key` (short-term credentials: the key is the password, RFC 5389 §15.4).
 * Compared in constant time.
 */
export function stunIntegrityOk(buf: Uint8Array, miOffset: number, key: Uint8Array): boolean {
  const v = miOffset + ATTR_HEADER_SIZE;
  if (miOffset < STUN_HEADER_SIZE || v + STUN_INTEGRITY_SIZE > buf.length) return false;
  const mac = stunHmac(buf, miOffset, key);
  return timingSafeEqual(mac, buf.subarray(v, v + STUN_INTEGRITY_SIZE));
}

/** Size of the ICE Binding Success Response (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT). */
export function iceBindingSuccessSize(family: 4 | 6): number {
  return stunBindingSuccessSize(family) + ATTR_HEADER_SIZE + STUN_INTEGRITY_SIZE + ATTR_HEADER_SIZE + STUN_FINGERPRINT_SIZE;
}

/**
 * Writes at out[0] the Binding Success Response to an ICE check (RFC 8445 §7.3.1.3):
 * XOR-MAPPED-ADDRESS of the request's source, MESSAGE-INTEGRITY with `key` (the
 * responder's ice-pwd), FINGERPRINT. Returns the bytes written (64 for IPv4, 76 for
 * IPv6), or 0 on the conditions of writeStunBindingSuccess().
 */
export function writeIceBindingSuccess(
  request: Uint8Array,
  address: string,
  port: number,
  family: 4 | 6,
  key: Uint8Array,
  out: Uint8Array,
): number {
  const size = iceBindingSuccessSize(family);
  if (out.length < size) return 0;
  const base = writeStunBindingSuccess(request, address, port, family, out);
  if (base === 0) return 0;
  const mi = base;
  writeU16(out, mi, STUN_ATTR_MESSAGE_INTEGRITY);
  writeU16(out, mi + 2, STUN_INTEGRITY_SIZE);
  const mac = stunHmac(out, mi, key);
  out.set(mac, mi + ATTR_HEADER_SIZE);
  const fp = mi + ATTR_HEADER_SIZE + STUN_INTEGRITY_SIZE;
  writeU16(out, OFFSET_LENGTH, size - STUN_HEADER_SIZE);
  writeU16(out, fp, STUN_ATTR_FINGERPRINT);
  writeU16(out, fp + 2, STUN_FINGERPRINT_SIZE);
  writeU32(out, fp + ATTR_HEADER_SIZE, (crc32(out, 0, fp) ^ STUN_FINGERPRINT_XOR) >>> 0);
  return size;
}

/** An ICE connectivity check to send (tools and tests; allocates). */
export interface IceCheckOptions {
  readonly transactionId: Uint8Array;
  /** USERNAME, "RFRAG:LFRAG" (RFC 8445 §7.2.2). */
  readonly username: string;
  /** The responder's ice-pwd (the MESSAGE-INTEGRITY key). */
  readonly password: string;
  readonly priority?: number;
  readonly useCandidate?: boolean;
  /** Tie-breaker of ICE-CONTROLLING (8 bytes); default zeros. */
  readonly controlling?: boolean;
  readonly fingerprint?: boolean;
}

/** Builds a Binding Request with USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT. */
export function encodeIceCheck(o: IceCheckOptions): Buffer {
  if (o.transactionId.length !== STUN_TRANSACTION_ID_SIZE) throw new RangeError('transaction ID is 12 bytes');
  const user = Buffer.from(o.username, 'utf8');
  const attrs: Buffer[] = [];
  const attr = (type: number, value: Uint8Array): void => {
    const a = Buffer.alloc(ATTR_HEADER_SIZE + Math.ceil(value.length / WORD) * WORD);
    writeU16(a, 0, type);
    writeU16(a, 2, value.length);
    a.set(value, ATTR_HEADER_SIZE);
    attrs.push(a);
  };
  attr(STUN_ATTR_USERNAME, user);
  const prio = Buffer.alloc(4);
  writeU32(prio, 0, o.priority ?? 0x6e0001ff);
  attr(STUN_ATTR_PRIORITY, prio);
  if (o.controlling !== false) attr(STUN_ATTR_ICE_CONTROLLING, Buffer.alloc(8));
  if (o.useCandidate === true) attr(STUN_ATTR_USE_CANDIDATE, Buffer.alloc(0));
  const body = Buffer.concat(attrs);
  const withFp = o.fingerprint !== false;
  const total = STUN_HEADER_SIZE + body.length + ATTR_HEADER_SIZE + STUN_INTEGRITY_SIZE + (withFp ? ATTR_HEADER_SIZE + STUN_FINGERPRINT_SIZE : 0);
  const out = Buffer.alloc(total);
  writeU16(out, OFFSET_TYPE, STUN_BINDING_REQUEST);
  writeU32(out, OFFSET_COOKIE, STUN_MAGIC_COOKIE);
  out.set(o.transactionId, STUN_OFFSET_TRANSACTION_ID);
  out.set(body, STUN_HEADER_SIZE);
  const mi = STUN_HEADER_SIZE + body.length;
  writeU16(out, mi, STUN_ATTR_MESSAGE_INTEGRITY);
  writeU16(out, mi + 2, STUN_INTEGRITY_SIZE);
  out.set(stunHmac(out, mi, Buffer.from(o.password, 'utf8')), mi + ATTR_HEADER_SIZE);
  writeU16(out, OFFSET_LENGTH, total - STUN_HEADER_SIZE);
  if (withFp) {
    const fp = mi + ATTR_HEADER_SIZE + STUN_INTEGRITY_SIZE;
    writeU16(out, fp, STUN_ATTR_FINGERPRINT);
    writeU16(out, fp + 2, STUN_FINGERPRINT_SIZE);
    writeU32(out, fp + ATTR_HEADER_SIZE, (crc32(out, 0, fp) ^ STUN_FINGERPRINT_XOR) >>> 0);
  }
  return out;
}
