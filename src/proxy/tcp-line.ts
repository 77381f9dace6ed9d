/**
 * The first line of a proxy TCP connection (SPEC §8, §9): `SHARE`, `VIEW`, `PUT`,
 * `GET`, and the reflector's `OK` / `ERR` answers. Lines end with `\n` (a `\r`
 * before it is accepted), are bounded in length, and must arrive before a deadline.
 */
import type { Socket } from 'node:net';
import { parsePasskeyHex } from './passkey.js';

/** Longest accepted line, `\n` included. `GET <u32> <32 hex> <u64>` needs 68. */
export const LINE_MAX_BYTES = 256;
/** SPEC §8.2: a connection that has not authenticated within 10 s is closed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a connection we answered `ERR` may linger for its peer to read the answer. */
export const LINGER_MS = 2_000;

export const LineError = {
  Timeout: 'line_timeout',
  TooLong: 'line_too_long',
  Closed: 'line_closed',
} as const;
export type LineError = (typeof LineError)[keyof typeof LineError];

export type LineResult =
  | { readonly ok: true; readonly line: string; readonly rest: Buffer }
  | { readonly ok: false; readonly error: LineError };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Reads one line from `socket`. On success the socket is left paused, with
 * the bytes after the line in `rest`; the caller takes it over.
 */
export function readLine(socket: Socket, maxBytes: number, timeoutMs: number): Promise<LineResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (result: LineResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      const lf = chunk.indexOf(LF);
      const used = lf < 0 ? chunk.length : lf + 1;
      if (length + used > maxBytes) { finish({ ok: false, error: LineError.TooLong }); return; }
      if (lf < 0) { chunks.push(chunk); length += chunk.length; return; }
      chunks.push(chunk.subarray(0, lf));
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const end = raw.length > 0 && raw[raw.length - 1] === CR ? raw.length - 1 : raw.length;
      finish({ ok: true, line: raw.toString('latin1', 0, end), rest: chunk.subarray(lf + 1) });
    };
    const onClosed = (): void => finish({ ok: false, error: LineError.Closed });
    const timer = setTimeout(() => finish({ ok: false, error: LineError.Timeout }), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.resume();
  });
}

/** A parsed `<VERB> <id> <passkey-hex> [arg]` line. The passkey is null when malformed. */
export interface AuthLine {
  readonly verb: string;
  readonly id: number;
  readonly passkey: Buffer | null;
  readonly arg?: string;
}

const DECIMAL = /^[0-9]{1,20}$/;

/** Parses a decimal u32; null if it is not one. */
export function parseU32(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return n <= 0xffffffff ? n : null;
}

/** Parses a decimal byte count or offset (safe integer); null if it is not one. */
export function parseCount(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/** Parses an authenticating line; null when it is not of that form (a framing violation). */
export function parseAuthLine(line: string, maxArgs: 0 | 1): AuthLine | null {
  const parts = line.split(' ');
  if (parts.length < 3 || parts.length > 3 + maxArgs) return null;
  const id = parseU32(parts[1]);
  if (id === null) return null;
  const passkey = parsePasskeyHex(parts[2]);
  return parts.length === 4 ? { verb: parts[0], id, passkey, arg: parts[3] } : { verb: parts[0], id, passkey };
}

/**
 * Answers `line` (if any), stops reading what the peer sends, half-closes, and
 * destroys the socket after `lingerMs` if the peer does not close first.
 */
export function closeWith(socket: Socket, line: string | null, lingerMs = LINGER_MS): void {
  if (socket.destroyed) return;
  let timer: NodeJS.Timeout | null = null;
  socket.once('close', () => { if (timer !== null) clearTimeout(timer); });
  socket.on('data', discard);
  socket.resume();
  // The linger starts once everything queued has gone to the kernel; a peer that
  // stops reading before that is cut by the connection's idle timeout.
  const onFinish = (): void => {
    timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
  };
  if (line === null) socket.end(onFinish);
  else socket.end(line + '\n', onFinish);
}

/** A 'data' listener that drops what it gets (keeps a socket flowing whose input is ignored). */
export function discard(): void {}
