/**
 * Fetching a peer's file from its origin (SPEC §9.3): `GET <id> <passkey>` over
 * TCP to the announced address, writing into our spool file while local
 * downloads read what has arrived so far, then verifying the SHA-256.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { connect, isIP, type Socket } from 'node:net';
import type { FileEntry } from './file-types.js';
import { unlinkQuietly } from './file-spool.js';
import { LINE_MAX_BYTES, parseCount, readLine } from './tcp-line.js';

export type FetchState = 'running' | 'done' | 'failed';

export interface FetchOptions {
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Our LISTEN_ADDRESS, used as source address when it is a specific one of the same family. */
  readonly localAddress?: string;
}

export class FileFetch {
  readonly entry: FileEntry;
  /** Bytes written to the spool file so far (readable by downloads). */
  written = 0;
  state: FetchState = 'running';
  failure = '';
  readonly #options: FetchOptions;
  #waiters: (() => void)[] = [];
  #socket: Socket | null = null;
  #fh: FileHandle | null = null;
  /** Resolves true once the spool file exists (readers may open it), false if it never will. */
  readonly opened: Promise<boolean>;
  #resolveOpened: (ok: boolean) => void = () => undefined;
  /** Resolves when the fetch is over (done or failed). */
  readonly finished: Promise<FetchState>;

  constructor(entry: FileEntry, options: FetchOptions) {
    this.entry = entry;
    this.#options = options;
    this.opened = new Promise((resolve) => { this.#resolveOpened = resolve; });
    this.finished = this.#run().then(
      () => this.#settle('done', ''),
      (err: unknown) => this.#settle('failed', err instanceof Error ? err.message : String(err)),
    );
  }

  /** Resolves at the next progress, or at once when the fetch is over. */
  progress(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  abort(): void {
    this.#socket?.destroy(new Error('aborted'));
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #settle(state: FetchState, failure: string): Promise<FetchState> {
    this.#socket?.destroy();
    if (this.#fh !== null) {
      await this.#fh.close().catch(() => undefined);
      this.#fh = null;
    }
    this.#resolveOpened(false);
    if (state === 'failed') await unlinkQuietly(this.entry.path);
    this.state = state;
    this.failure = failure;
    this.#notify();
    return state;
  }

  async #run(): Promise<void> {
    const { entry } = this;
    const origin = entry.origin;
    if (origin === null) throw new Error('not a peer file');
    const local = this.#options.localAddress;
    const localAddress = local !== undefined && local !== '0.0.0.0' && local !== '::' && isIP(local) === isIP(origin.address) ? local : undefined;
    const socket = connect({ host: origin.address, port: origin.port, localAddress });
    this.#socket = socket;
    socket.on('error', () => undefined);
    socket.write(`GET ${entry.id} ${entry.passkey.toString('hex')}\n`);
    const answer = await readLine(socket, LINE_MAX_BYTES, this.#options.handshakeTimeoutMs);
    if (!answer.ok) throw new Error(`origin: ${answer.error}`);
    const parts = answer.line.split(' ');
    if (parts[0] !== 'OK' || parts.length !== 3) throw new Error(`origin answered ${answer.line.slice(0, 64)}`);
    if (parseCount(parts[1]) !== entry.size || parts[2].toLowerCase() !== entry.sha256.toString('hex')) {
      throw new Error('origin size or digest differs from the announcement');
    }
    this.#fh = await open(entry.path, 'wx', 0o600);
    this.#resolveOpened(true);
    const hash = createHash('sha256');
    socket.setTimeout(this.#options.idleTimeoutMs, () => socket.destroy(new Error('origin idle')));
    const write = async (chunk: Buffer): Promise<void> => {
      if (this.written + chunk.length > entry.size) throw new Error('origin sent more than the size');
      const fh = this.#fh;
      if (fh === null) throw new Error('closed');
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, this.written + off);
        if (bytesWritten <= 0) throw new Error('short write');
        off += bytesWritten;
      }
      hash.update(chunk);
      this.written += chunk.length;
      this.#notify();
    };
    if (answer.rest.length > 0) await write(answer.rest);
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      await write(chunk);
    }
    if (this.written !== entry.size) throw new Error('origin closed early');
    if (!hash.digest().equals(entry.sha256)) throw new Error('digest mismatch');
    await this.#fh.close();
    this.#fh = null;
  }
}
