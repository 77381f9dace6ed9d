/**
 * The file spool (SPEC §9): grants, our own file names in FILE_SPOOL_DIR, space
 * accounting (FILE_MAX_BYTES and free space from statfs), time to live, and
 * removal. The TCP protocol is file-server.ts; fetching a peer's file is file-fetch.ts.
 */
import { randomBytes } from 'node:crypto';
import { readdir, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RflxErrorCode } from '../rtp/rflx-types.js';
import { TimerSet } from '../runtime/timer-set.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import type { FileAnnouncement, FileEntry, FileOrigin, FileSnapshot } from './file-types.js';
import { fileSnapshot } from './file-types.js';
import { newId, newPasskey } from './passkey.js';

export type FileSpoolEvents = {
  /** A local upload was verified: announce it. */
  'file-ready': [entry: FileEntry];
  /** An entry was removed (TTL, session end, shutdown) and its spool file deleted (emitted after the unlink). */
  'file-removed': [entry: FileEntry, reason: string];
};

export interface FileRequest {
  readonly session: string;
  readonly name: string;
  readonly size: bigint;
  readonly sha256: Buffer;
  readonly sender: string;
}

export type GrantResult =
  | { readonly ok: true; readonly entry: FileEntry }
  | { readonly ok: false; readonly code: number; readonly reason: string };

export interface FileSpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly ttlMs: number;
  /** Free bytes of the spool's file system; statfs by default (tests may inject). */
  readonly freeBytes?: (dir: string) => Promise<number>;
}

async function statfsFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export class FileSpool {
  readonly events = new TypedEmitter<FileSpoolEvents>();
  readonly #entries = new Map<number, FileEntry>();
  readonly #timers = new TimerSet();
  /**
   * Our pid and a random token per instance: several reflectors may share one spool directory, and the
   * pid lets a later process remove what a killed one left behind (sweepStale).
   */
  readonly #token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  #options: FileSpoolOptions;
  #closed = false;

  constructor(options: FileSpoolOptions) {
    this.#options = options;
  }

  reconfigure(options: FileSpoolOptions): void {
    this.#options = options;
  }

  get dir(): string { return this.#options.dir; }
  get maxBytes(): number { return this.#options.maxBytes; }

  has(id: number): boolean { return this.#entries.has(id); }
  get(id: number): FileEntry | undefined { return this.#entries.get(id); }
  list(): FileEntry[] { return [...this.#entries.values()]; }
  snapshots(): FileSnapshot[] { return this.list().map(fileSnapshot); }

  /** Entries that can be announced now: verified local uploads and peers' files. */
  available(session: string): FileEntry[] {
    return this.list().filter((e) => e.session === session && (e.origin !== null || e.state === 'ready'));
  }

  /** Bytes promised but not yet on disk (grants, uploads, fetches under way). */
  #reservedBytes(): number {
    let n = 0;
    for (const e of this.#entries.values()) {
      if (e.state === 'granted' || e.state === 'uploading' || e.state === 'fetching') n += e.size;
    }
    return n;
  }

  /** Room for `size` more bytes: FILE_MAX_BYTES per file and the file system's free space. */
  async hasRoomFor(size: number): Promise<boolean> {
    let free: number;
    try {
      free = await (this.#options.freeBytes ?? statfsFree)(this.#options.dir);
    } catch {
      return false;
    }
    return free - this.#reservedBytes() >= size;
  }

  /** SPEC §9.1: checks size and space, allocates FILE_ID and PASSKEY. */
  async grant(req: FileRequest): Promise<GrantResult> {
    if (this.#closed) return { ok: false, code: RflxErrorCode.Internal, reason: 'shutting down' };
    if (req.size > BigInt(this.#options.maxBytes)) {
      return { ok: false, code: RflxErrorCode.TooLarge, reason: `file larger than ${this.#options.maxBytes} bytes` };
    }
    const size = Number(req.size);
    if (!(await this.hasRoomFor(size))) return { ok: false, code: RflxErrorCode.SpoolFull, reason: 'spool full' };
    if (this.#closed) return { ok: false, code: RflxErrorCode.Internal, reason: 'shutting down' };
    const id = newId((n) => this.#entries.has(n));
    const entry = this.#add({ id, passkey: newPasskey(), session: req.session, name: req.name, size, sha256: req.sha256, sender: req.sender }, null, 'granted');
    return { ok: true, entry };
  }

  /** A peer's file (SPEC §9.3); null when the id is taken or the file could never fit here. */
  addRemote(a: FileAnnouncement, origin: FileOrigin): FileEntry | null {
    if (this.#closed || this.#entries.has(a.id) || a.size > this.#options.maxBytes) return null;
    return this.#add(a, origin, 'remote');
  }

  #add(a: FileAnnouncement, origin: FileOrigin | null, state: 'granted' | 'remote'): FileEntry {
    const now = Date.now();
    const entry: FileEntry = {
      id: a.id,
      passkey: a.passkey,
      session: a.session,
      name: a.name,
      size: a.size,
      sha256: a.sha256,
      sender: a.sender,
      origin,
      // Our own name, never the client's: the NAME only travels in announcements.
      path: join(this.#options.dir, `rflx-${this.#token}-${a.id.toString(16).padStart(8, '0')}`),
      createdAt: now,
      state,
      expiresAt: now + this.#options.ttlMs,
      downloads: 0,
    };
    this.#entries.set(entry.id, entry);
    this.#timers.set(`ttl:${entry.id}`, this.#options.ttlMs, () => this.remove(entry.id, 'ttl'));
    return entry;
  }

  /** A local upload was verified: the TTL starts again from now. */
  markReady(entry: FileEntry): void {
    if (this.#entries.get(entry.id) !== entry) return;
    entry.state = 'ready';
    if (entry.origin === null) {
      entry.expiresAt = Date.now() + this.#options.ttlMs;
      this.#timers.set(`ttl:${entry.id}`, this.#options.ttlMs, () => this.remove(entry.id, 'ttl'));
      this.events.emit('file-ready', entry);
    }
  }

  /** Removes an entry and deletes its spool file. Idempotent. */
  remove(id: number, reason: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#timers.clear(`ttl:${id}`);
    // The event follows the deletion, so listeners see the spool as it is.
    void unlinkQuietly(entry.path).then(() => this.events.emit('file-removed', entry, reason));
  }

  removeSession(session: string, reason: string): void {
    for (const e of this.list()) if (e.session === session) this.remove(e.id, reason);
  }

  /** Entries announced by one peer. */
  countFromPeer(peerKey: string): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.origin?.peerKey === peerKey) n++;
    return n;
  }

  /** Removes the entries announced by one peer. */
  removePeer(peerKey: string, reason: string): void {
    for (const e of this.list()) if (e.origin?.peerKey === peerKey) this.remove(e.id, reason);
  }

  /**
   * Deletes spool files of reflector processes that no longer run (a SIGKILL or crash leaves its files:
   * `close()` never ran). Only our own naming `rflx-<pid>-<token>-<id>` with a dead pid is touched, so
   * live reflectors sharing the directory keep theirs. Returns the number removed; never throws.
   */
  async sweepStale(): Promise<number> {
    let names: string[];
    try { names = await readdir(this.#options.dir); } catch { return 0; }
    const stale = names.filter((n) => {
      const m = STALE_NAME.exec(n);
      return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
    });
    await Promise.all(stale.map((n) => unlinkQuietly(join(this.#options.dir, n))));
    return stale.length;
  }

  /** Deletes every spool file of this instance. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.dispose();
    const paths = this.list().map((e) => e.path);
    for (const e of this.list()) this.remove(e.id, 'shutdown');
    await Promise.all(paths.map(unlinkQuietly));
  }
}

const STALE_NAME = /^rflx-(\d{1,10})-[0-9a-f]{12}-[0-9a-f]{8}$/;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // ENOENT: nothing was written yet.
  }
}
