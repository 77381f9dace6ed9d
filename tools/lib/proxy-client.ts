/**
 * Client side of application sharing and file transfer (SPEC §7–§9), for
 * tools/client and the tests: the TCP line protocols (SHARE, VIEW, PUT, GET).
 * The RFLX request/answer over UDP is in the second half of this file.
 */
import { createHash, randomInt } from 'node:crypto';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createReadStream, createWriteStream } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { encodeRflx, findRflxApp, parseRflx } from '../../src/rtp/rflx.js';
import { RflxSubtype, type RflxFields, type RflxMessage } from '../../src/rtp/rflx-types.js';

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

// ---------------------------------------------------------------- RFLX over UDP (SPEC §7)

/** The reflector answered a request with ERROR (subtype 8). */
export class RflxRequestError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string) {
    super(`reflector ERROR ${code}: ${reason}`);
    this.name = 'RflxRequestError';
    this.code = code;
    this.reason = reason;
  }
}

export interface ShareGrant {
  readonly shareId: number;
  readonly address: string;
  readonly port: number;
  readonly passkey: Buffer;
}

export interface FileGrant {
  readonly fileId: number;
  readonly address: string;
  readonly port: number;
  readonly passkey: Buffer;
}

export interface ReceivedRflx {
  readonly message: RflxMessage;
  readonly from: RemoteInfo;
}

interface RflxWaiter {
  readonly pred: (m: RflxMessage) => boolean;
  readonly resolve: (m: RflxMessage) => void;
}

/**
 * RFLX requests and announcements on a participant's RTCP socket (the caller
 * owns the socket; requests go to the session's audio RTCP port, AUDIO_PORT+1).
 * Every RFLX message that arrives is kept in `received`, in order.
 */
export class RflxClient {
  readonly received: ReceivedRflx[] = [];
  readonly #socket: UdpSocket;
  readonly #address: string;
  readonly #port: number;
  readonly #ssrc: number;
  #waiters: RflxWaiter[] = [];
  readonly #onMessage = (buf: Buffer, from: RemoteInfo): void => {
    const at = findRflxApp(buf);
    if (at === null) return;
    const m = parseRflx(buf, at.offset, at.length);
    if (typeof m === 'string') return;
    this.received.push({ message: m, from });
    const still: RflxWaiter[] = [];
    for (const w of this.#waiters) {
      if (w.pred(m)) w.resolve(m);
      else still.push(w);
    }
    this.#waiters = still;
  };

  constructor(socket: UdpSocket, reflector: { address: string; port: number }, ssrc: number) {
    this.#socket = socket;
    this.#address = reflector.address;
    this.#port = reflector.port;
    this.#ssrc = ssrc >>> 0;
    socket.on('message', this.#onMessage);
  }

  /** Stops listening (the socket stays open). */
  close(): void {
    this.#socket.off('message', this.#onMessage);
    this.#waiters = [];
  }

  /** The first message (already received or arriving within timeoutMs) that satisfies `pred`. */
  waitFor(pred: (m: RflxMessage) => boolean, timeoutMs = 5000): Promise<RflxMessage> {
    const seen = this.received.find((r) => pred(r.message));
    if (seen !== undefined) return Promise.resolve(seen.message);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (m: RflxMessage): void => { clearTimeout(timer); resolve(m); },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching RFLX message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  send(subtype: number, fields: RflxFields): Promise<void> {
    const buf = encodeRflx({ subtype, ssrc: this.#ssrc, fields });
    return new Promise((resolve, reject) => {
      this.#socket.send(buf, this.#port, this.#address, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Sends a request with a fresh REQUEST_ID and retransmits the same bytes every
   * `retransmitMs` until the answer (GRANT or ERROR with that REQUEST_ID) arrives.
   */
  async request(subtype: number, fields: RflxFields, options: { timeoutMs?: number; retransmitMs?: number; requestId?: number } = {}): Promise<RflxMessage> {
    const requestId = options.requestId ?? randomInt(1, 0xffffffff);
    const answerTypes = new Set<number>([RflxSubtype.ShareGrant, RflxSubtype.FileGrant, RflxSubtype.Error]);
    const answer = this.waitFor((m) => answerTypes.has(m.subtype) && m.fields.requestId === requestId, options.timeoutMs ?? 5000);
    const buf = encodeRflx({ subtype, ssrc: this.#ssrc, fields: { ...fields, requestId } });
    const sendOnce = (): void => { this.#socket.send(buf, this.#port, this.#address, () => undefined); };
    sendOnce();
    const every = setInterval(sendOnce, options.retransmitMs ?? 500);
    try {
      const m = await answer;
      if (m.subtype === RflxSubtype.Error) throw new RflxRequestError(m.fields.code ?? 0, m.fields.reason ?? '');
      return m;
    } finally {
      clearInterval(every);
    }
  }

  async requestShare(title: string, options: { timeoutMs?: number; requestId?: number } = {}): Promise<ShareGrant> {
    const m = await this.request(RflxSubtype.ShareRequest, { title }, options);
    const f = m.fields;
    if (f.shareId === undefined || f.address === undefined || f.port === undefined || f.passkey === undefined) {
      throw new Error('incomplete SHARE_GRANT');
    }
    return { shareId: f.shareId, address: f.address, port: f.port, passkey: f.passkey };
  }

  async requestFile(name: string, size: number, sha256: Buffer, options: { timeoutMs?: number; requestId?: number } = {}): Promise<FileGrant> {
    const m = await this.request(RflxSubtype.FileRequest, { name, size: BigInt(size), sha256 }, options);
    const f = m.fields;
    if (f.fileId === undefined || f.address === undefined || f.port === undefined || f.passkey === undefined) {
      throw new Error('incomplete FILE_GRANT');
    }
    return { fileId: f.fileId, address: f.address, port: f.port, passkey: f.passkey };
  }

  /** SHARE_ANNOUNCE (3) for a share id (or the first one if none is given). */
  shareAnnounce(shareId?: number, timeoutMs = 5000): Promise<RflxMessage> {
    return this.waitFor((m) => m.subtype === RflxSubtype.ShareAnnounce && (shareId === undefined || m.fields.shareId === shareId), timeoutMs);
  }

  shareEnd(shareId: number, timeoutMs = 5000): Promise<RflxMessage> {
    return this.waitFor((m) => m.subtype === RflxSubtype.ShareEnd && m.fields.shareId === shareId, timeoutMs);
  }

  fileAnnounce(fileId?: number, timeoutMs = 5000): Promise<RflxMessage> {
    return this.waitFor((m) => m.subtype === RflxSubtype.FileAnnounce && (fileId === undefined || m.fields.fileId === fileId), timeoutMs);
  }
}

/** Target and credentials of an announcement (3 or 7), for openView / getFile. */
export function announced(m: RflxMessage): { target: TcpTarget; cred: Credentials } {
  const f = m.fields;
  const id = f.shareId ?? f.fileId;
  if (f.address === undefined || f.port === undefined || f.passkey === undefined || id === undefined) {
    throw new Error('incomplete announcement');
  }
  return { target: { host: f.address, port: f.port }, cred: { id, passkey: f.passkey } };
}
