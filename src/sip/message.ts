/**
 * A typed wrapper around drachtio-srf's SIP message parser (`Srf.SipMessage`,
 * `Srf.parseUri`). drachtio ships no types for these statics, so everything it
 * returns is narrowed from `unknown` here; its header parsers throw on
 * malformed values (e.g. a CSeq without a number), so each call is guarded and
 * a failure becomes a drop reason or a 400, never an exception.
 *
 * Framing (where a message ends, Content-Length) is done by framing.ts before
 * the text gets here; the body is cut by bytes there and handed over as is.
 * Via is parsed here rather than by drachtio, whose Via regex cannot read an
 * IPv6 sent-by (`[::1]:5060`).
 */
import Srf from 'drachtio-srf';

export const MAX_SIP_MESSAGE_BYTES = 64 * 1024;

export interface SipUri {
  readonly scheme: string;
  /** The user part, still percent-encoded. */
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
  readonly params: Readonly<Record<string, string | null>>;
}

export interface NameAddr {
  readonly raw: string;
  readonly uri: string;
  readonly tag?: string;
}

export interface ViaHop {
  /** The header value of this hop as received (folding undone). */
  readonly raw: string;
  /** The protocol version of the hop (`2.0`). */
  readonly version: string;
  readonly transport: string;
  readonly host: string;
  readonly port?: number;
  readonly branch?: string;
  readonly rport: boolean;
}

interface SipMessageBase {
  /** Header values by lower-case full name; repeated headers are joined with ',' (RFC 3261 §7.3.1). */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** Bytes of the message as received (head, blank line, body): the bound for what we answer an unverified source. */
  readonly size?: number;
  readonly via: readonly ViaHop[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: { readonly seq: number; readonly method: string };
}

export interface SipRequest extends SipMessageBase {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

export interface SipResponse extends SipMessageBase {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export const SipParseDrop = {
  Unparsable: 'sip_unparsable',
  MissingHeader: 'sip_missing_header',
  BadVia: 'sip_bad_via',
  BadCseq: 'sip_bad_cseq',
  BadFromTo: 'sip_bad_from_to',
  CseqMethodMismatch: 'sip_cseq_method_mismatch',
  BadVersion: 'sip_bad_version',
  /** The request line is not `Method SP Request-URI SP SIP-Version` exactly, or the URI is not one. */
  BadRequestLine: 'sip_bad_request_line',
  /** Content-Length repeated with different values, not a number, or not the body's length (RFC 3261 §18.3, §20.14). */
  BadContentLength: 'sip_bad_content_length',
  /** A header field of a single value given several (RFC 3261 §7.3), or a Max-Forwards, Date or Contact that breaks its grammar. */
  BadHeader: 'sip_bad_header',
} as const;
export type SipParseDrop = (typeof SipParseDrop)[keyof typeof SipParseDrop];

export type ParseResult =
  | { readonly ok: true; readonly message: SipMessage }
  /** `respondable`: enough of a request was read (Via, Call-ID, CSeq…) to answer 400. */
  | { readonly ok: false; readonly reason: SipParseDrop; readonly detail: string; readonly partial?: PartialRequest };

/** What a 400 needs when a request is broken in a header that a response doesn't need. */
export interface PartialRequest {
  readonly method: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly via: readonly ViaHop[];
  /** Bytes of the request as received, when known. */
  readonly size?: number;
}

// ---------------------------------------------------------------------------
// drachtio access, narrowed from unknown

interface DrachtioStatics {
  SipMessage: new (raw: string) => unknown;
  parseUri: (s: string) => unknown;
}

const drachtio = Srf as unknown as DrachtioStatics;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Parses a SIP URI with drachtio's parseUri; undefined if it is not a sip:/sips: URI. */
export function parseSipUri(text: string): SipUri | undefined {
  let r: unknown;
  try {
    r = drachtio.parseUri(text);
  } catch {
    return undefined;
  }
  if (!isRecord(r)) return undefined;
  const scheme = str(r.scheme);
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  const host = str(r.host);
  if (host === undefined || host.length === 0) return undefined;
  const params: Record<string, string | null> = {};
  if (isRecord(r.params)) {
    for (const [k, v] of Object.entries(r.params)) {
      params[k.toLowerCase()] = typeof v === 'string' ? v : null;
    }
  }
  const portNum = typeof r.port === 'number' ? r.port : Number(r.port);
  const user = str(r.user);
  return {
    scheme,
    ...(user !== undefined && user.length > 0 ? { user } : {}),
    host,
    ...(Number.isInteger(portNum) && portNum > 0 && portNum < 65536 ? { port: portNum } : {}),
    params,
  };
}

// ---------------------------------------------------------------------------
// header helpers

const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via',
};

/** Splits a header value on commas outside quotes and angle brackets. */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // backslash escape
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) depthAngle++;
    else if (c === 0x3e && depthAngle > 0) depthAngle--;
    else if (c === 0x2c && depthAngle === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last.length > 0 || out.length > 0) out.push(last);
  return out.filter((s) => s.length > 0);
}

// RFC 3261 §25.1: LWS is allowed around the '/' of sent-protocol (RFC 4475 §3.1.1.1).
const VIA_RE = /^SIP\s*\/\s*(\d{1,3}\.\d{1,3})\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/;

export function parseVia(value: string): ViaHop[] | undefined {
  const hops: ViaHop[] = [];
  for (const raw of splitHeaderList(value)) {
    const m = VIA_RE.exec(raw);
    if (m === null) return undefined;
    const params = parseParams(m[5] ?? '');
    const port = m[4] !== undefined ? Number(m[4]) : undefined;
    if (port !== undefined && (port < 1 || port > 65535)) return undefined;
    const branch = params.get('branch');
    hops.push({
      raw,
      version: m[1] ?? '',
      transport: (m[2] ?? '').toUpperCase(),
      host: m[3] ?? '',
      ...(port !== undefined ? { port } : {}),
      ...(branch ? { branch } : {}),
      rport: params.has('rport'),
    });
  }
  return hops.length > 0 ? hops : undefined;
}

/** `;a=b;c` → Map (keys lower-case, values unquoted). */
export function parseParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(';')) {
    const p = part.trim();
    if (p.length === 0) continue;
    const eq = p.indexOf('=');
    const k = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    let v = eq < 0 ? '' : p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    out.set(k, v);
  }
  return out;
}

/** RFC 3261 §25.1 token characters. */
const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Index of the quote closing the quoted-string that starts at `from` (a '"'), honouring quoted-pairs; -1 if unterminated. */
function closingQuote(v: string, from: number): number {
  for (let i = from + 1; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  return -1;
}

/**
 * From/To/Contact value: `"Name" <uri>;tag=x`, `Name <uri>`, or `uri;tag=x`
 * (RFC 3261 §20.10, §25.1). Undefined when it breaks the grammar: an
 * unterminated quoted display name, a display name of non-token characters,
 * whitespace inside <>, or a bare URI holding ',' or '?' (RFC 4475 §3.1.2.6,
 * §3.1.2.13–15).
 */
export function parseNameAddr(raw: string): NameAddr | undefined {
  const v = raw.trim();
  let uri: string;
  let rest: string;
  let lt: number;
  if (v.startsWith('"')) {
    const q = closingQuote(v, 0);
    if (q < 0) return undefined;
    lt = v.indexOf('<', q + 1);
    if (lt < 0 || v.slice(q + 1, lt).trim().length > 0) return undefined;
  } else {
    lt = v.indexOf('<');
    if (lt >= 0) {
      const display = v.slice(0, lt).trim();
      if (display.length > 0 && !display.split(/[ \t]+/).every((t) => TOKEN_RE.test(t))) return undefined;
    }
  }
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) return undefined;
    uri = v.slice(lt + 1, gt);
    rest = v.slice(gt + 1);
  } else {
    const semi = v.indexOf(';');
    uri = (semi < 0 ? v : v.slice(0, semi)).trim();
    rest = semi < 0 ? '' : v.slice(semi);
    if (/[,?]/.test(uri)) return undefined;
  }
  if (uri.length === 0 || /\s/.test(uri)) return undefined;
  const tag = parseParams(rest).get('tag');
  return { raw: v, uri, ...(tag ? { tag } : {}) };
}

/** Undoes header folding (RFC 3261 §7.3.1): CRLF followed by whitespace is one SP. */
function unfold(value: string): string {
  return value.replace(/\r?\n[ \t]+/g, ' ').trim();
}

const REQUEST_LINE_RE = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP\/(\d{1,3}\.\d{1,3})$/;
const URI_SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** RFC 3261 §20.17 / RFC 1123: `Fri, 01 Jan 2010 16:00:00 GMT` (only GMT). */
const SIP_DATE_RE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** The request defects drachtio accepts but RFC 3261 does not; undefined when none. */
function requestDefect(head: string, uri: string, headers: ReadonlyMap<string, string>): { reason: SipParseDrop; detail: string } | undefined {
  const eol = head.indexOf('\r\n');
  const line = eol < 0 ? head : head.slice(0, eol);
  if (!REQUEST_LINE_RE.test(line)) return { reason: SipParseDrop.BadRequestLine, detail: 'request line' };
  if (!URI_SCHEME_RE.test(uri)) return { reason: SipParseDrop.BadRequestLine, detail: 'Request-URI' };
  // A SIP Request-URI carries no headers component (RFC 3261 §19.1.5; RFC 4475 §3.1.2.11); a '?' in the user part is fine.
  if (/^sips?:/i.test(uri) && uri.slice(Math.max(0, uri.lastIndexOf('@'))).includes('?')) return { reason: SipParseDrop.BadRequestLine, detail: 'headers in the Request-URI' };
  const contact = headers.get('contact');
  if (contact !== undefined && contact.trim() !== '*') {
    for (const c of splitHeaderList(contact)) if (parseNameAddr(c) === undefined) return { reason: SipParseDrop.BadHeader, detail: 'Contact' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------

/**
 * Parses one framed message: `head` is the start line and headers (without the
 * blank line), `body` the bytes after it (already cut to Content-Length).
 */
export function parseSipMessage(head: string, body: Buffer): ParseResult {
  let parsed: unknown;
  try {
    parsed = new drachtio.SipMessage(head + '\r\n\r\n');
  } catch {
    return { ok: false, reason: SipParseDrop.Unparsable, detail: 'start line or header syntax' };
  }
  if (!isRecord(parsed) || !isRecord(parsed.headers)) {
    return { ok: false, reason: SipParseDrop.Unparsable, detail: 'no headers' };
  }
  const version = str(parsed.version);
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(parsed.headers)) {
    if (typeof v !== 'string') continue;
    const name = k.toLowerCase();
    const full = COMPACT[name] ?? name;
    const prev = headers.get(full);
    const value = unfold(v);
    headers.set(full, prev === undefined ? value : prev + ',' + value);
  }
  // Method and Request-URI come from the request line itself: drachtio percent-decodes the method
  // (RE%47IST%45R is not REGISTER, RFC 4475 §3.1.1.5).
  const eol = head.indexOf('\r\n');
  const lineM = REQUEST_LINE_RE.exec(eol < 0 ? head : head.slice(0, eol));
  const method = str(parsed.method) === undefined ? undefined : lineM?.[1] ?? str(parsed.method);
  const uri = str(parsed.uri) === undefined ? undefined : lineM?.[2] ?? str(parsed.uri);
  const status = typeof parsed.status === 'number' ? parsed.status : undefined;

  const viaText = headers.get('via');
  const via = viaText !== undefined ? parseVia(viaText) : undefined;
  if (via === undefined) {
    return { ok: false, reason: viaText === undefined ? SipParseDrop.MissingHeader : SipParseDrop.BadVia, detail: 'Via' };
  }
  const size = Buffer.byteLength(head) + 4 + body.length;
  const partial: PartialRequest | undefined = method !== undefined ? { method, headers, via, size } : undefined;
  const fail = (reason: SipParseDrop, detail: string): ParseResult =>
    partial !== undefined ? { ok: false, reason, detail, partial } : { ok: false, reason, detail };

  if (version !== '2.0') return fail(SipParseDrop.BadVersion, 'SIP version');
  for (const h of ['from', 'to', 'call-id', 'cseq']) {
    if (!headers.has(h) || (headers.get(h) ?? '').length === 0) return fail(SipParseDrop.MissingHeader, h);
  }
  // Content-Length: one value (repeats must agree), and exactly the body that arrived (RFC 3261 §18.3, §20.14).
  const clText = headers.get('content-length');
  if (clText !== undefined) {
    const values = clText.split(',').map((x) => x.trim());
    if (!values.every((x) => /^\d{1,9}$/.test(x)) || new Set(values.map(Number)).size !== 1 || Number(values[0]) !== body.length) {
      return fail(SipParseDrop.BadContentLength, 'Content-Length');
    }
  }
  // Single-valued header fields (RFC 3261 §7.3, RFC 4475 §3.3.8): the values of repeats were joined with ','.
  const callIdText = headers.get('call-id') ?? '';
  if (callIdText.includes(',') || /\s/.test(callIdText)) return fail(SipParseDrop.BadHeader, 'Call-ID');
  const maxForwards = headers.get('max-forwards');
  if (maxForwards !== undefined && !/^\d{1,10}$/.test(maxForwards)) return fail(SipParseDrop.BadHeader, 'Max-Forwards');
  const date = headers.get('date');
  if (date !== undefined && !SIP_DATE_RE.test(date)) return fail(SipParseDrop.BadHeader, 'Date');
  if (splitHeaderList(headers.get('from') ?? '').length > 1 || splitHeaderList(headers.get('to') ?? '').length > 1) {
    return fail(SipParseDrop.BadFromTo, 'From/To');
  }
  const cseqM = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(headers.get('cseq') ?? '');
  const cseqSeq = cseqM !== null ? Number(cseqM[1]) : NaN;
  if (cseqM === null || !(cseqSeq < 2 ** 31)) return fail(SipParseDrop.BadCseq, 'CSeq');
  const cseq = { seq: cseqSeq, method: (cseqM[2] ?? '').toUpperCase() };
  const from = parseNameAddr(headers.get('from') ?? '');
  const to = parseNameAddr(headers.get('to') ?? '');
  if (from === undefined || to === undefined) return fail(SipParseDrop.BadFromTo, 'From/To');
  const callId = headers.get('call-id') ?? '';

  if (method !== undefined && uri !== undefined) {
    if (cseq.method !== method.toUpperCase()) return fail(SipParseDrop.CseqMethodMismatch, 'CSeq method');
    const defect = requestDefect(head, uri, headers);
    if (defect !== undefined) return fail(defect.reason, defect.detail);
    return { ok: true, message: { kind: 'request', method: method.toUpperCase(), uri, headers, body, size, via, from, to, callId, cseq } };
  }
  if (status !== undefined && status >= 100 && status <= 699) {
    const reason = str(parsed.reason) ?? '';
    return { ok: true, message: { kind: 'response', status, reason, headers, body, size, via, from, to, callId, cseq } };
  }
  return { ok: false, reason: SipParseDrop.Unparsable, detail: 'start line' };
}

// ---------------------------------------------------------------------------
// serialising (plain text building; drachtio's stringify rewrites headers)

export interface OutgoingMessage {
  readonly startLine: string;
  /** [name, value] in order. Content-Length is added from the body. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: string;
}

export function serialise(m: OutgoingMessage): Buffer {
  const body = m.body !== undefined ? Buffer.from(m.body, 'utf8') : Buffer.alloc(0);
  let s = m.startLine + '\r\n';
  for (const [k, v] of m.headers) s += `${k}: ${v}\r\n`;
  s += `Content-Length: ${body.length}\r\n\r\n`;
  return body.length > 0 ? Buffer.concat([Buffer.from(s, 'utf8'), body]) : Buffer.from(s, 'utf8');
}

/** A reason phrase safe for a status line: printable, no CR/LF, bounded. */
export function safeReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  return reason.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 120);
}
