/**
 * The file-transfer TCP server on FILE_TRANSFER_PORT (SPEC §9.2–§9.4):
 *
 *   PUT <file-id> <passkey-hex>\n + exactly SIZE bytes  →  OK <sha256-hex>\n | ERR <reason>\n
 *   GET <file-id> <passkey-hex> [offset]\n              →  OK <total> <sha256-hex>\n + bytes | ERR <reason>\n
 *
 * A peer's file is fetched from its origin on the first GET and served while it
 * arrives (file-fetch.ts); later GETs read the cached copy.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { DropCounter } from '../runtime/drop-counter.js';
import { FileFetch } from './file-fetch.js';
import { type FileSpool, unlinkQuietly } from './file-spool.js';
import { DEFAULT_FILE_TUNABLES, FileDrop, type FileEntry, type FileState, type FileTunables } from './file-types.js';
import { passkeyMatches } from './passkey.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import { silentLogger } from '../runtime/logger.js';
import { type AdmissionTicket, type KnownSources, TcpAdmission } from '../runtime/tcp-admission.js';
import { closeWith, LINE_MAX_BYTES, LineError, parseAuthLine, parseCount, readLine } from './tcp-line.js';

export interface FileServerOptions {
  readonly host: string;
  /** FILE_TRANSFER_PORT; 0 picks a free port (tests), see `port`. */
  readonly port: number;
  readonly tunables?: Partial<FileTunables> | undefined;
  /** Participants' and peers' addresses, preferred by admission (default: none known). */
  readonly known?: KnownSources;
  /** Where refusals are logged (rate-limited); default: nowhere (they are still counted). */
  readonly refusalLog?: RateLimitedLog;
}

export interface FileCounters {
  uploadsOk: number;
  uploadsFailed: number;
  downloads: number;
  bytesIn: number;
  bytesOut: number;
  fetches: number;
}

const READ_CHUNK_BYTES = 64 * 1024;

export class FileServer {
  readonly drops = new DropCounter();
  readonly counters: FileCounters = { uploadsOk: 0, uploadsFailed: 0, downloads: 0, bytesIn: 0, bytesOut: 0, fetches: 0 };
  readonly #spool: FileSpool;
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #tunables: FileTunables;
  readonly #sockets = new Set<Socket>();
  readonly #fetches = new Map<number, FileFetch>();
  readonly #admission: TcpAdmission;
  #server: Server | null = null;
  #port = 0;
  #closed = false;

  constructor(spool: FileSpool, options: FileServerOptions) {
    this.#spool = spool;
    this.#host = options.host;
    this.#requestedPort = options.port;
    this.#tunables = { ...DEFAULT_FILE_TUNABLES, ...options.tunables };
    this.#admission = new TcpAdmission('file', () => ({
      maxConnections: this.#tunables.maxConnections,
      reservedForKnown: this.#tunables.reservedForKnown,
      maxPerSource: this.#tunables.maxPerSource,
      maxPendingPerSource: this.#tunables.maxPendingPerSource,
      handshakeTimeoutMs: this.#tunables.handshakeTimeoutMs,
      pressureHandshakeTimeoutMs: this.#tunables.pressureHandshakeTimeoutMs,
    }), options.known ?? (() => false), this.drops, options.refusalLog ?? new RateLimitedLog(silentLogger()));
    spool.events.on('file-removed', (entry) => {
      const fetch = this.#fetches.get(entry.id);
      if (fetch?.entry === entry) fetch.abort();
    });
  }

  /** The port actually listened on. */
  get port(): number { return this.#port; }

  async listen(): Promise<number> {
    const server = createServer({ allowHalfOpen: true }, (s) => this.#onConnection(s));
    // Our admission refuses (and counts) before this; the hard limit is a backstop against descriptor exhaustion.
    server.maxConnections = this.#tunables.maxConnections + 64;
    server.on('drop', () => { this.drops.add(FileDrop.OverHardLimit); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#host, port: this.#requestedPort }, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', () => undefined);
    this.#server = server;
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr !== null ? addr.port : this.#requestedPort;
    return this.#port;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of this.#fetches.values()) f.abort();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    const server = this.#server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.#fetches.values()].map((f) => f.finished));
  }

  #onConnection(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.#closed) { socket.destroy(); return; }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.setTimeout(this.#tunables.idleTimeoutMs, () => {
      this.drops.add(FileDrop.Idle);
      socket.destroy();
    });
    // A few hosts holding idle connections must not use up maxConnections for everyone (tcp-admission.ts).
    const ticket = this.#admission.admit(socket);
    if (ticket === null) { this.#sockets.delete(socket); return; }
    void this.#handle(socket, ticket).catch(() => socket.destroy());
  }

  /** Connections open on the port (admitted, not yet closed). */
  get connections(): number { return this.#admission.connections; }

  async #handle(socket: Socket, ticket: AdmissionTicket): Promise<void> {
    // readLine always settles (line, deadline, length bound or close).
    const result = await readLine(socket, LINE_MAX_BYTES, ticket.handshakeTimeoutMs);
    ticket.settled();
    if (!result.ok) {
      if (result.error === LineError.Timeout) { this.drops.add(FileDrop.HandshakeTimeout); closeWith(socket, 'ERR timeout'); }
      else if (result.error === LineError.TooLong) { this.drops.add(FileDrop.LineTooLong); closeWith(socket, 'ERR line_too_long'); }
      else socket.destroy();
      return;
    }
    const line = parseAuthLine(result.line, 1);
    if (line === null || (line.verb !== 'PUT' && line.verb !== 'GET') || (line.verb === 'PUT' && line.arg !== undefined)) {
      this.drops.add(FileDrop.BadLine);
      closeWith(socket, 'ERR bad_request');
      return;
    }
    const entry = this.#spool.get(line.id);
    // Unknown id and wrong passkey get the same answer; the comparison runs in constant time.
    const keyOk = entry !== undefined && passkeyMatches(entry.passkey, line.passkey);
    if (entry === undefined || !keyOk) {
      this.drops.add(FileDrop.Denied);
      closeWith(socket, 'ERR denied');
      return;
    }
    if (line.verb === 'PUT') this.#put(socket, entry, result.rest);
    else await this.#get(socket, entry, line.arg);
  }

  // ---------------------------------------------------------------- upload (SPEC §9.2)

  #put(socket: Socket, entry: FileEntry, rest: Buffer): void {
    if (entry.origin !== null || entry.state !== 'granted') {
      this.drops.add(FileDrop.Busy);
      closeWith(socket, entry.state === 'uploading' ? 'ERR busy' : 'ERR already_uploaded');
      return;
    }
    entry.state = 'uploading';
    const out = createWriteStream(entry.path, { flags: 'wx', mode: 0o600 });
    const hash = createHash('sha256');
    let received = 0;
    let over = false;
    const fail = (drop: string, reason: string): void => {
      if (over) return;
      over = true;
      this.drops.add(drop);
      this.counters.uploadsFailed++;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      const discard = (): void => {
        // Discarded before the answer, so a client that reads ERR finds nothing left behind.
        void unlinkQuietly(entry.path).then(() => {
          if (this.#spool.get(entry.id) === entry) entry.state = 'granted';
          closeWith(socket, `ERR ${reason}`);
        });
      };
      if (out.closed) discard();
      else { out.once('close', discard); out.destroy(); }
    };
    const complete = (): void => {
      out.end(() => {
        if (over) return;
        over = true;
        socket.off('data', onData);
        socket.off('end', onEnd);
        const digest = hash.digest();
        if (this.#spool.get(entry.id) !== entry) {
          // Removed meanwhile (TTL, session end): nothing to keep.
          void unlinkQuietly(entry.path);
          this.counters.uploadsFailed++;
          closeWith(socket, 'ERR gone');
          return;
        }
        if (!digest.equals(entry.sha256)) {
          this.drops.add(FileDrop.BadDigest);
          this.counters.uploadsFailed++;
          void unlinkQuietly(entry.path).then(() => {
            if (this.#spool.get(entry.id) === entry) entry.state = 'granted';
            closeWith(socket, 'ERR sha256_mismatch');
          });
          return;
        }
        this.counters.uploadsOk++;
        closeWith(socket, `OK ${digest.toString('hex')}`);
        this.#spool.markReady(entry);
      });
    };
    const onData = (chunk: Buffer): void => {
      if (over) return;
      if (received + chunk.length > entry.size) { fail(FileDrop.TooManyBytes, 'too_many_bytes'); return; }
      received += chunk.length;
      this.counters.bytesIn += chunk.length;
      hash.update(chunk);
      if (!out.write(chunk)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
      if (received === entry.size) complete();
    };
    const onEnd = (): void => {
      if (received < entry.size) fail(FileDrop.EarlyEnd, 'early_end');
    };
    out.on('error', () => fail(FileDrop.IoError, 'io_error'));
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', () => { if (!over && received < entry.size) fail(FileDrop.EarlyEnd, 'early_end'); });
    if (rest.length > 0) onData(rest);
    else if (entry.size === 0) complete();
    socket.resume();
  }

  // ---------------------------------------------------------------- download (SPEC §9.4)

  async #get(socket: Socket, entry: FileEntry, arg: string | undefined): Promise<void> {
    const offset = arg === undefined ? 0 : parseCount(arg);
    if (offset === null) { this.drops.add(FileDrop.BadLine); closeWith(socket, 'ERR bad_request'); return; }
    if (offset > entry.size) { this.drops.add(FileDrop.BadOffset); closeWith(socket, 'ERR bad_offset'); return; }
    // Whatever the client sends from now on is ignored; it may half-close.
    socket.on('data', () => undefined);
    socket.resume();
    if (entry.state === 'ready') { this.#serveFile(socket, entry, offset); return; }
    if (entry.origin === null) { this.drops.add(FileDrop.NotReady); closeWith(socket, 'ERR not_ready'); return; }
    const fetch = await this.#ensureFetch(entry);
    if (fetch === null) { closeWith(socket, 'ERR spool_full'); return; }
    if (!(await fetch.opened)) {
      if ((entry.state as FileState) === 'ready') { this.#serveFile(socket, entry, offset); return; }
      this.drops.add(FileDrop.FetchFailed);
      closeWith(socket, 'ERR origin_unavailable');
      return;
    }
    await this.#serveGrowing(socket, entry, fetch, offset);
  }

  #header(socket: Socket, entry: FileEntry): void {
    entry.downloads++;
    this.counters.downloads++;
    socket.write(`OK ${entry.size} ${entry.sha256.toString('hex')}\n`);
  }

  #serveFile(socket: Socket, entry: FileEntry, offset: number): void {
    const input = createReadStream(entry.path, { start: offset, highWaterMark: READ_CHUNK_BYTES });
    input.once('open', () => {
      this.#header(socket, entry);
      input.on('data', (c: Buffer | string) => { this.counters.bytesOut += c.length; });
      input.pipe(socket, { end: false });
      input.once('end', () => closeWith(socket, null));
    });
    input.once('error', () => {
      this.drops.add(FileDrop.IoError);
      if (socket.bytesWritten === 0) closeWith(socket, 'ERR io_error');
      else socket.destroy();
    });
    socket.once('close', () => input.destroy());
  }

  async #ensureFetch(entry: FileEntry): Promise<FileFetch | null> {
    const running = this.#fetches.get(entry.id);
    if (running !== undefined && running.state === 'running') return running;
    if (!(await this.#spool.hasRoomFor(entry.size))) return null;
    const again = this.#fetches.get(entry.id);
    if (again !== undefined && again.state === 'running') return again;
    if (this.#spool.get(entry.id) !== entry) return null;
    entry.state = 'fetching';
    this.counters.fetches++;
    const fetch = new FileFetch(entry, {
      handshakeTimeoutMs: this.#tunables.handshakeTimeoutMs,
      idleTimeoutMs: this.#tunables.idleTimeoutMs,
      localAddress: this.#host,
    });
    this.#fetches.set(entry.id, fetch);
    void fetch.finished.then((state) => {
      if (this.#fetches.get(entry.id) === fetch) this.#fetches.delete(entry.id);
      if (this.#spool.get(entry.id) !== entry) { void unlinkQuietly(entry.path); return; }
      if (state === 'done') this.#spool.markReady(entry);
      else { this.drops.add(FileDrop.FetchFailed); entry.state = 'remote'; }
    });
    return fetch;
  }

  /** Serves a file while it is being fetched: reads what has arrived, waits for more. */
  async #serveGrowing(socket: Socket, entry: FileEntry, fetch: FileFetch, offset: number): Promise<void> {
    const fh = await open(entry.path, 'r').catch(() => null);
    if (fh === null) { closeWith(socket, 'ERR io_error'); return; }
    try {
      this.#header(socket, entry);
      let pos = offset;
      // Bounded: each pass either sends bytes, waits for the fetch to progress, or ends.
      while (pos < entry.size && !socket.destroyed) {
        if (pos >= fetch.written) {
          if (fetch.state === 'failed') { socket.destroy(); return; }
          if (fetch.state === 'done' && fetch.written <= pos) { socket.destroy(); return; }
          await fetch.progress();
          continue;
        }
        const n = Math.min(READ_CHUNK_BYTES, fetch.written - pos);
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead <= 0) { socket.destroy(); return; }
        pos += bytesRead;
        this.counters.bytesOut += bytesRead;
        if (!socket.write(bytesRead === n ? buf : buf.subarray(0, bytesRead))) await drained(socket);
      }
      if (!socket.destroyed) {
        // The client must not keep bytes the origin failed to vouch for: wait for the digest.
        const state = await fetch.finished;
        if (state === 'done') closeWith(socket, null);
        else socket.destroy();
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { socket.off('drain', done); socket.off('close', done); resolve(); };
    socket.once('drain', done);
    socket.once('close', done);
  });
}
