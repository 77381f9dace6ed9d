/**
 * SIP message framing (RFC 3261 §7.5, §18.3). A datagram is one message; on a
 * stream, messages are delimited by the blank line and Content-Length, which is
 * mandatory there. Every message is bounded by MAX_SIP_MESSAGE_BYTES; a stream
 * that violates the framing is closed by the caller, never resynchronised.
 */
import { MAX_SIP_MESSAGE_BYTES } from '../message.js';

export const FrameDrop = {
  TooLarge: 'sip_too_large',
  NoHeaderEnd: 'sip_no_header_end',
  BadContentLength: 'sip_bad_content_length',
  MissingContentLength: 'sip_missing_content_length',
  ShortBody: 'sip_short_body',
  NotText: 'sip_not_text',
} as const;
export type FrameDrop = (typeof FrameDrop)[keyof typeof FrameDrop];

export interface Frame {
  /** Start line and headers, without the terminating blank line. */
  readonly head: string;
  readonly body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CL_RE = /^(?:content-length|l)[ \t]*:[ \t]*(.*)$/im;

/**
 * Reads Content-Length from a header block. Returns undefined when absent,
 * null when present but not a single plain decimal (or repeated inconsistently).
 */
export function contentLengthOf(head: string): number | undefined | null {
  let found: number | undefined;
  const re = new RegExp(CL_RE.source, 'gim');
  let m: RegExpExecArray | null;
  let guard = 0;
  while ((m = re.exec(head)) !== null && guard++ < 64) {
    const v = (m[1] ?? '').trim();
    if (!/^\d{1,9}$/.test(v)) return null;
    const n = Number(v);
    if (found !== undefined && found !== n) return null;
    found = n;
  }
  return found;
}

function headIsText(head: Buffer): boolean {
  // SIP headers are UTF-8 text: reject NUL and other C0 controls except HT/CR/LF, unless escaped as a
  // quoted-pair ("\" followed by %x00-09 / %x0B-0C / %x0E-7F, RFC 3261 §25.1; RFC 4475 §3.1.1.2).
  for (let i = 0; i < head.length; i++) {
    const c = head[i] ?? 0;
    if (c === 0x5c) {
      const n = head[i + 1];
      if (n !== undefined && n !== 0x0a && n !== 0x0d && n < 0x80) i++;
      continue;
    }
    if (c < 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

/**
 * Frames one UDP datagram. Leading CRLFs (keep-alives) are skipped; an all-CRLF datagram yields 'keepalive'.
 * A Content-Length that is malformed, repeated with different values, or larger than what arrived still
 * yields a frame (with every byte after the blank line as body): the parser rejects it, so that a request
 * gets its 400 (RFC 3261 §18.3; RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9).
 */
export function frameDatagram(buf: Buffer): Frame | FrameDrop | 'keepalive' {
  if (buf.length > MAX_SIP_MESSAGE_BYTES) return FrameDrop.TooLarge;
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) return 'keepalive';
  const end = buf.indexOf(CRLFCRLF, start);
  if (end < 0) return FrameDrop.NoHeaderEnd;
  const headBuf = buf.subarray(start, end);
  if (!headIsText(headBuf)) return FrameDrop.NotText;
  const head = headBuf.toString('utf8');
  const cl = contentLengthOf(head);
  const bodyAvail = buf.length - (end + 4);
  // RFC 3261 §18.3: extra bytes after Content-Length are ignored; a short or bad one is the parser's to reject.
  if (cl === null || cl === undefined || cl > bodyAvail) return { head, body: buf.subarray(end + 4) };
  return { head, body: buf.subarray(end + 4, end + 4 + cl) };
}

/**
 * Reassembles messages from a byte stream. Holds at most one partial message
 * (≤ MAX_SIP_MESSAGE_BYTES); returns a drop reason on a framing violation,
 * after which the connection must be closed.
 */
export class StreamFramer {
  #chunks: Buffer[] = [];
  #length = 0;
  /** Header/body boundary of the message being assembled, once known. */
  #headEnd = -1;
  #bodyLength = -1;
  #failed: FrameDrop | null = null;

  get buffered(): number {
    return this.#length;
  }

  /** Appends a chunk and returns the complete frames, or a drop reason (the stream is then dead). */
  push(chunk: Buffer, out: Frame[]): FrameDrop | null {
    if (this.#failed !== null) return this.#failed;
    if (this.#length + chunk.length > MAX_SIP_MESSAGE_BYTES * 2) {
      // Even a complete message plus the next one's start cannot be this large.
      return this.#fail(FrameDrop.TooLarge);
    }
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    for (let guard = 0; guard < 1024; guard++) {
      const r = this.#next(out);
      if (r === 'more') return null;
      if (r !== 'frame') return this.#fail(r);
    }
    return null;
  }

  #fail(reason: FrameDrop): FrameDrop {
    this.#failed = reason;
    this.#chunks = [];
    this.#length = 0;
    return reason;
  }

  #buffer(): Buffer {
    if (this.#chunks.length !== 1) {
      const b = Buffer.concat(this.#chunks, this.#length);
      this.#chunks = [b];
    }
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #next(out: Frame[]): 'more' | 'frame' | FrameDrop {
    if (this.#length === 0) return 'more';
    let buf = this.#buffer();
    if (this.#headEnd < 0) {
      // Skip CRLF keep-alives between messages (RFC 5626 §3.5.1).
      let start = 0;
      while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
      if (start > 0) {
        buf = buf.subarray(start);
        this.#chunks = buf.length > 0 ? [buf] : [];
        this.#length = buf.length;
        if (buf.length === 0) return 'more';
      }
      const end = buf.indexOf(CRLFCRLF);
      if (end < 0) {
        return buf.length > MAX_SIP_MESSAGE_BYTES ? FrameDrop.TooLarge : 'more';
      }
      if (end + 4 > MAX_SIP_MESSAGE_BYTES) return FrameDrop.TooLarge;
      const headBuf = buf.subarray(0, end);
      if (!headIsText(headBuf)) return FrameDrop.NotText;
      const cl = contentLengthOf(headBuf.toString('utf8'));
      if (cl === null) return FrameDrop.BadContentLength;
      if (cl === undefined) return FrameDrop.MissingContentLength;
      if (end + 4 + cl > MAX_SIP_MESSAGE_BYTES) return FrameDrop.TooLarge;
      this.#headEnd = end;
      this.#bodyLength = cl;
    }
    const total = this.#headEnd + 4 + this.#bodyLength;
    if (buf.length < total) return 'more';
    const head = buf.subarray(0, this.#headEnd).toString('utf8');
    // Copy the body so the retained frame does not pin the whole reassembly buffer.
    const body = Buffer.from(buf.subarray(this.#headEnd + 4, total));
    out.push({ head, body });
    const rest = buf.subarray(total);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    this.#headEnd = -1;
    this.#bodyLength = -1;
    return 'frame';
  }
}
