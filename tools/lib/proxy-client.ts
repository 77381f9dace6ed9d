/**
 * Client side of application sharing and file transfer (SPEC §7–§9), for
 * tools/client and the tests: the TCP line protocols (SHARE, VIEW, PUT, GET).
 * The RFLX request/answer over UDP is in the second half of this file.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  /** Bind the client end to this address. */
  readonly localAddress?: string;
}

export interface Credentials {
  /** SHARE_ID or FILE_ID. */
  readonly id: number;
  /** 16 bytes, or 32 hex digits. */
  readonly passkey: Buffer | string;
}

/** The reflector answered `ERR <reason>` (or closed without answering: reason `closed`). */
export class ProxyProtocolError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`reflector answered ERR ${reason}`);
    this.name = 'ProxyProtocolError';
    this.reason = reason;
  }
}

const LINE_MAX = 256;

function hexKey(passkey: Buffer | string): string {
  return typeof passkey === 'string' ? passkey.toLowerCase() : passkey.toString('hex');
}

function connectTcp(target: TcpTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, localAddress: target.localAddress });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('connect timeout')); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); socket.off('error', onError); socket.on('error', () => undefined); resolve(socket); });
    const onError = (err: Error): void => { clearTimeout(timer); reject(err); };
    socket.once('error', onError);
  });
}

/**
 * Reads the reflector's answer line. The bytes after it are pushed back into the
 * socket (unshift), which is left paused. Rejects on a timeout; resolves
 * `{ line: null }` when the connection closed first.
 */
export function readAnswerLine(socket: Socket, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const lf = buffered.indexOf(0x0a);
      if (lf < 0) {
        if (buffered.length > LINE_MAX) { done(); socket.destroy(); reject(new Error('answer line too long')); }
        return;
      }
      done();
      socket.pause();
      const rest = buffered.subarray(lf + 1);
      if (rest.length > 0) socket.unshift(rest);
      resolve(buffered.toString('latin1', 0, lf).replace(/\r$/, ''));
    };
    const onClose = (): void => { done(); resolve(null); };
    const timer = setTimeout(() => { done(); socket.destroy(); reject(new Error('answer timeout')); }, timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
    socket.resume();
  });
}

function expectOk(line: string | null): string[] {
  if (line === null) throw new ProxyProtocolError('closed');
  const parts = line.split(' ');
  if (parts[0] === 'OK') return parts.slice(1);
  if (parts[0] === 'ERR') throw new ProxyProtocolError(parts.slice(1).join(' ') || 'unspecified');
  throw new ProxyProtocolError(`unexpected answer: ${line.slice(0, 64)}`);
}

async function openAuthenticated(verb: string, target: TcpTarget, cred: Credentials, timeoutMs: number, extra = ''): Promise<{ socket: Socket; args: string[] }> {
  const socket = await connectTcp(target, timeoutMs);
  try {
    socket.write(`${verb} ${cred.id} ${hexKey(cred.passkey)}${extra}\n`);
    const args = expectOk(await readAnswerLine(socket, timeoutMs));
    return { socket, args };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

// ---------------------------------------------------------------- sharing (SPEC §8)

/** Connects to the share's server port and authenticates; the socket is ready for the shared bytes. */
export async function openShare(target: TcpTarget, cred: Credentials, timeoutMs = 10_000): Promise<Socket> {
  const { socket } = await openAuthenticated('SHARE', target, cred, timeoutMs);
  socket.setNoDelay(true);
  socket.on('data', () => undefined); // the reflector sends nothing more; keep the socket flowing
  socket.resume();
  return socket;
}

/**
 * Shares a stream: authenticates on the server port, sends every byte of
 * `source`, then closes (which ends the share). Resolves with the bytes sent.
 */
export async function shareStream(target: TcpTarget, cred: Credentials, source: Readable | Iterable<Buffer> | AsyncIterable<Buffer>, timeoutMs = 10_000): Promise<number> {
  const socket = await openShare(target, cred, timeoutMs);
  let sent = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      sent += chunk.length;
      if (!socket.write(chunk)) await waitDrain(socket);
    }
  } catch (err) {
    socket.destroy();
    throw err;
  }
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
  return sent;
}

function waitDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { socket.off('close', onClose); resolve(); };
    const onClose = (): void => { socket.off('drain', onDrain); reject(new Error('connection closed')); };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Connects to a client port as a viewer; after `OK` the socket (paused) yields the shared bytes. */
export async function openView(target: TcpTarget, cred: Credentials, timeoutMs = 10_000): Promise<Socket> {
  const { socket } = await openAuthenticated('VIEW', target, cred, timeoutMs);
  return socket;
}

export interface ViewResult {
  readonly bytes: number;
  /** SHA-256 (hex) of every byte received after `OK`. */
  readonly sha256: string;
}

/**
 * Views a share until the reflector closes the connection (end of share).
 * `onOpen` runs once the viewer is authenticated (e.g. to start the sharer).
 */
export async function viewShare(target: TcpTarget, cred: Credentials, options: { timeoutMs?: number; sink?: Writable; onOpen?: (socket: Socket) => void } = {}): Promise<ViewResult> {
  const socket = await openView(target, cred, options.timeoutMs ?? 10_000);
  options.onOpen?.(socket);
  return collect(socket, options.sink);
}

/** Reads a socket to its end, hashing (and optionally writing) every byte. */
export function collect(socket: Socket, sink?: Writable): Promise<ViewResult> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (sink !== undefined && !sink.write(chunk)) {
        socket.pause();
        sink.once('drain', () => socket.resume());
      }
    });
    socket.once('close', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.resume();
  });
}

// ---------------------------------------------------------------- files (SPEC §9)

export type PutSource = Buffer | { readonly path: string } | Readable;

/**
 * Uploads a file: `PUT <id> <passkey>`, the bytes, half-close, then the answer.
 * Resolves with the SHA-256 the reflector verified; rejects with
 * ProxyProtocolError when it answered `ERR`.
 */
export async function putFile(target: TcpTarget, cred: Credentials, source: PutSource, timeoutMs = 30_000): Promise<string> {
  const socket = await connectTcp(target, timeoutMs);
  try {
    const answer = readAnswerLine(socket, timeoutMs + 60_000);
    socket.write(`PUT ${cred.id} ${hexKey(cred.passkey)}\n`);
    if (Buffer.isBuffer(source)) {
      socket.end(source);
    } else {
      const stream = 'path' in source && typeof source.path === 'string' && !('pipe' in source) ? createReadStream(source.path) : (source as Readable);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (socket.destroyed) break;
          if (!socket.write(chunk)) await waitDrain(socket);
        }
      } catch {
        // The reflector may close early (ERR); its answer below says why.
      }
      socket.end();
    }
    const args = expectOk(await answer);
    return args[0] ?? '';
  } finally {
    socket.destroy();
  }
}

export interface GetResult {
  /** Total size of the file (from `OK <total> <sha256>`). */
  readonly total: number;
  /** SHA-256 of the whole file as the reflector announced it. */
  readonly sha256: string;
  /** Bytes received (from the offset on). */
  readonly bytes: number;
  /** SHA-256 of the bytes received. */
  readonly receivedSha256: string;
}

/**
 * Downloads a file from `offset` (default 0): `GET <id> <passkey> [offset]`.
 * Writes to `dest` (a path: appended when offset > 0) if given. Rejects with
 * ProxyProtocolError on `ERR`. A transfer cut short resolves with fewer bytes.
 */
export async function getFile(target: TcpTarget, cred: Credentials, options: { offset?: number; dest?: string | Writable; timeoutMs?: number; maxBytes?: number } = {}): Promise<GetResult> {
  const offset = options.offset ?? 0;
  const extra = offset > 0 ? ` ${offset}` : '';
  const { socket, args } = await openAuthenticated('GET', target, cred, options.timeoutMs ?? 30_000, extra);
  const total = Number(args[0]);
  const sha256 = args[1] ?? '';
  let sink: Writable | undefined;
  if (typeof options.dest === 'string') sink = createWriteStream(options.dest, { flags: offset > 0 ? 'a' : 'w' });
  else sink = options.dest;
  const limit = options.maxBytes;
  const received = await new Promise<ViewResult>((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      let part = chunk;
      if (limit !== undefined && bytes + part.length > limit) part = part.subarray(0, limit - bytes);
      bytes += part.length;
      hash.update(part);
      if (sink !== undefined && part.length > 0 && !sink.write(part)) {
        socket.pause();
        sink.once('drain', () => socket.resume());
      }
      if (limit !== undefined && bytes >= limit) socket.destroy();
    });
    socket.once('close', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.resume();
  });
  if (typeof options.dest === 'string' && sink !== undefined) {
    const s = sink;
    await new Promise<void>((resolve) => s.end(resolve));
  }
  return { total, sha256, bytes: received.bytes, receivedSha256: received.sha256 };
}
