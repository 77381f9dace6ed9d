/**
 * Batched UDP I/O for the core (REFLECTOR_IO=mmsg): a CoreUdpSocket over the
 * addon src/reflector/native/mmsg.c (recvmmsg/sendmmsg, built into
 * dist/native/mmsg.node by tools/build-native.ts).
 *
 * Receiving: the addon reads up to RB datagrams per recvmmsg into the socket's
 * arena and makes one JS call per batch; the core's per-datagram handler runs for
 * each with a Buffer view into the arena and a reused rinfo object (datagrams the addon
 * fanned out itself — native-fanout.ts — never reach JS; the others come in runs,
 * one call per run, in arrival order). The view is
 * valid only until the handler returns (the core copies for hooks that may keep it:
 * see ReflectorCoreImpl#stable).
 *
 * Sending: BatchedSender queues (buffer, offset, length, destination) descriptors.
 * A datagram that is a view into the socket's own arena is sent from there without
 * a copy; any other buffer is copied into the sender's bounded tx arena at send()
 * time. Every sender touched during a batch is flushed (one sendmmsg per up to
 * 1024 datagrams) before the batch call returns, i.e. before the arena is reused.
 * Sends outside a batch (timers, relayed media, the mixer) are flushed on the
 * next microtask, so one fan-out still leaves as one sendmmsg.
 */
import type { RemoteInfo } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PacketSender, SendErrorCounter } from './packet-sender.js';
import { MEDIA_SOCKET_BUFFER_BYTES, udpTypeFor, type CoreUdpSocket, type DatagramHandler } from './udp-socket.js';

export interface MmsgAddon {
  readonly SLOT: number;
  readonly RB: number;
  readonly RXD: number;
  readonly TXD: number;
  /** Native fan-out: ints per recipient in fanRecipients, doubles per endpoint in fanCounters, per entry in fanTrace. */
  readonly FRD: number;
  readonly FCS: number;
  readonly FTS: number;
  /** The most datagrams per sendmmsg call. */
  readonly SB: number;
  /** The most threads per socket (open's `workers`). */
  readonly MAX_WORKERS: number;
  /**
   * `workers` > 1 (MEDIA_WORKERS): workers - 1 more sockets bound to the same address and port with
   * SO_REUSEPORT, each read by its own thread, which fans out what the tables cover and hands the
   * rest of its batch to onBatch on this thread (in its arrival order), waiting until that returned.
   */
  open(address: string, port: number, family: number, bufBytes: number, rxArena: Buffer, rxDesc: Int32Array,
    onBatch: (start: number, end: number) => number, workers?: number): number;
  sendBatch(id: number, rxArena: Buffer, txArena: Buffer, desc: Int32Array, count: number): number;
  localPort(id: number): number;
  parseAddr(text: string, family: number, out: Int32Array): boolean;
  addrText(flags: number, scope: number, a0: number, a1: number, a2: number, a3: number): string;
  stats(id: number): number[];
  close(id: number): void;
  // Native fan-out (src/reflector/native-fanout.ts mirrors its tables into these).
  fanSession(id: number, session: number, nativeOk: number): boolean;
  fanRecipients(id: number, session: number, desc: Int32Array, count: number): boolean;
  fanSource(id: number, addr: Int32Array, port: number, session: number, endpoint: number, trace: number): boolean;
  fanUnlatch(id: number, addr: Int32Array, port: number): boolean;
  fanCounters(id: number, counters: Float64Array): boolean;
  fanTrace(id: number, ring: Float64Array): boolean;
  /** [datagrams fanned out natively, copies queued, copies not sent] */
  fanStats(id: number): number[];
  /** The workers' counters and trace entries into the arrays of fanCounters and fanTrace. */
  fanMerge(id: number): boolean;
  /** Datagrams received by each thread of the socket: [main, worker 1, …]. */
  laneStats(id: number): number[];
}

export type IoMode = 'mmsg' | 'dgram';

/** dist/src/reflector/batched-udp.js → dist/native/mmsg.node */
export const MMSG_ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'mmsg.node');

let loaded: { addon: MmsgAddon | null; error: string } | undefined;

/** Loads the addon once; null (with the reason) when it is absent or does not load. */
export function loadMmsgAddon(): { addon: MmsgAddon | null; error: string } {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') loaded = { addon: null, error: `not Linux (${process.platform})` };
  else if (!existsSync(MMSG_ADDON_PATH)) loaded = { addon: null, error: `${MMSG_ADDON_PATH} not built` };
  else {
    try {
      const require = createRequire(import.meta.url);
      const addon = require(MMSG_ADDON_PATH) as MmsgAddon;
      loaded = typeof addon.open === 'function' && typeof addon.fanMerge === 'function'
        ? { addon, error: '' }
        : { addon: null, error: 'addon has no open() or fanMerge(): rebuild it (npm run build)' };
    } catch (err) {
      loaded = { addon: null, error: err instanceof Error ? err.message : String(err) };
    }
  }
  return loaded;
}

export interface IoChoice {
  readonly mode: IoMode;
  /** Why (logged in core_listening). */
  readonly reason: string;
  readonly addon: MmsgAddon | null;
}

/**
 * REFLECTOR_IO=auto|mmsg|dgram (default auto: mmsg when the addon loads, else dgram).
 * An explicit `mmsg` that cannot be honoured throws: a run meant to use it must not
 * silently measure or test dgram.
 */
export function chooseIo(setting: string | undefined): IoChoice {
  const want = (setting ?? '').trim().toLowerCase();
  if (want === 'dgram') return { mode: 'dgram', reason: 'REFLECTOR_IO=dgram', addon: null };
  const { addon, error } = loadMmsgAddon();
  if (want === 'mmsg') {
    if (addon === null) throw new Error(`REFLECTOR_IO=mmsg but the batched I/O addon is unavailable: ${error}`);
    return { mode: 'mmsg', reason: 'REFLECTOR_IO=mmsg', addon };
  }
  const prefix = want === '' || want === 'auto' ? 'auto' : `auto (REFLECTOR_IO=${want} not understood)`;
  if (addon === null) return { mode: 'dgram', reason: `${prefix}: addon unavailable: ${error}`, addon: null };
  return { mode: 'mmsg', reason: `${prefix}: addon loaded`, addon };
}

/** Counters of the batched sockets of one core (drops() reports them). */
export interface BatchCounters {
  /** Datagrams longer than a slot (SLOT = 64 KiB, so none in practice): dropped, as they arrived truncated. */
  rxTruncated: number;
}

/**
 * The batched sockets of one core: knows whether a batch is being handled (sends
 * are then flushed at its end) and which senders have queued datagrams.
 */
export class BatchGroup {
  inBatch = false;
  readonly counters: BatchCounters = { rxTruncated: 0 };
  /**
   * Runs before JS handles each run of received datagrams (the native fan-out drains its
   * trace of natively fanned datagrams here, so JS sees their effects in arrival order).
   */
  beforeRun: (() => void) | null = null;
  /**
   * Bumped by the native fan-out on every change of the addon's tables: a run stops after the
   * datagram whose handling changed them, and the addon decides the rest again.
   */
  tableGen = 0;
  readonly #dirty: BatchedSender[] = [];
  readonly #arenas = new Set<ArrayBufferLike>();

  markDirty(sender: BatchedSender): void {
    this.#dirty.push(sender);
  }

  flushDirty(): void {
    // Bounded: each sender is listed once per batch (when its queue becomes non-empty).
    for (let i = 0; i < this.#dirty.length; i++) this.#dirty[i].flush();
    this.#dirty.length = 0;
  }

  addArena(arena: Buffer): void {
    this.#arenas.add(arena.buffer);
  }

  removeArena(arena: Buffer): void {
    this.#arenas.delete(arena.buffer);
  }

  /** True for a view into a receive arena: valid only during the current handler call. */
  isTransient(buf: Buffer): boolean {
    return this.#arenas.size > 0 && this.#arenas.has(buf.buffer);
  }
}

const DEST_CACHE_MAX = 4096;
const TX_ARENA_BYTES = 256 * 1024;
const TX_MAX_DESCRIPTORS = 2048;

export class BatchedSender implements PacketSender {
  readonly #addon: MmsgAddon;
  readonly #id: number;
  readonly #family: number;
  readonly #rx: Buffer;
  readonly #group: BatchGroup;
  readonly #errors: SendErrorCounter;
  readonly #tx = Buffer.alloc(TX_ARENA_BYTES);
  readonly #desc: Int32Array;
  readonly #stride: number;
  #count = 0;
  #txUsed = 0;
  #microtask = false;
  #closed = false;
  /** Destination text → [scope, a0..a3], null for a text the socket cannot send to. */
  readonly #dests = new Map<string, Int32Array | null>();
  readonly #scratch = new Int32Array(5);
  readonly #flushLater = (): void => {
    this.#microtask = false;
    this.flush();
  };

  constructor(addon: MmsgAddon, id: number, family: number, rx: Buffer, group: BatchGroup, errors: SendErrorCounter) {
    this.#addon = addon;
    this.#id = id;
    this.#family = family;
    this.#rx = rx;
    this.#group = group;
    this.#errors = errors;
    this.#stride = addon.TXD;
    this.#desc = new Int32Array(TX_MAX_DESCRIPTORS * addon.TXD);
  }

  send(buf: Buffer, port: number, address: string): void {
    if (this.#closed) return;
    const dest = this.#dest(address);
    if (dest === null || port <= 0 || port > 65535) {
      this.#errors.sendErrors++;
      return;
    }
    const len = buf.length;
    let which = 0;
    let off = 0;
    if (this.#group.inBatch && buf.buffer === this.#rx.buffer) {
      off = buf.byteOffset - this.#rx.byteOffset; // zero copy: flushed before the arena is reused
    } else {
      if (len > this.#tx.length) {
        this.#errors.sendErrors++;
        return;
      }
      if (this.#txUsed + len > this.#tx.length) this.flush();
      which = 1;
      off = this.#txUsed;
      buf.copy(this.#tx, off);
      this.#txUsed += len;
    }
    if (this.#count === TX_MAX_DESCRIPTORS) this.flush();
    const d = this.#count * this.#stride;
    const desc = this.#desc;
    desc[d] = which;
    desc[d + 1] = off;
    desc[d + 2] = len;
    desc[d + 3] = port;
    desc[d + 4] = dest[0];
    desc[d + 5] = dest[1];
    desc[d + 6] = dest[2];
    desc[d + 7] = dest[3];
    desc[d + 8] = dest[4];
    if (this.#count++ === 0) {
      if (this.#group.inBatch) this.#group.markDirty(this);
      else if (!this.#microtask) {
        this.#microtask = true;
        queueMicrotask(this.#flushLater);
      }
    }
  }

  /** Sends everything queued (one sendmmsg per up to 1024 datagrams). */
  flush(): void {
    const n = this.#count;
    this.#count = 0;
    this.#txUsed = 0;
    if (n === 0 || this.#closed) return;
    let sent = 0;
    try {
      sent = this.#addon.sendBatch(this.#id, this.#rx, this.#tx, this.#desc, n);
    } catch {
      sent = 0;
    }
    if (sent < n) this.#errors.sendErrors += n - sent;
  }

  close(): void {
    this.flush();
    this.#closed = true;
  }

  #dest(address: string): Int32Array | null {
    let d = this.#dests.get(address);
    if (d !== undefined) return d;
    d = this.#addon.parseAddr(address, this.#family, this.#scratch) ? Int32Array.from(this.#scratch) : null;
    if (this.#dests.size >= DEST_CACHE_MAX) this.#dests.clear();
    this.#dests.set(address, d);
    return d;
  }
}

interface CachedAddr {
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  scope: number;
  flags: number;
  text: string;
}

const ADDR_CACHE_MAX = 8192;

/** Source address text per received address, without a string per datagram. */
class AddrCache {
  readonly #addon: MmsgAddon;
  readonly #map = new Map<number, CachedAddr>();

  constructor(addon: MmsgAddon) {
    this.#addon = addon;
  }

  text(flags: number, scope: number, w0: number, w1: number, w2: number, w3: number): string {
    const key = (Math.imul(w0 ^ flags, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ w3 ^ Math.imul(scope, 31)) | 0;
    const e = this.#map.get(key);
    if (e !== undefined && e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3 && e.scope === scope && e.flags === flags) return e.text;
    const text = this.#addon.addrText(flags, scope, w0, w1, w2, w3);
    if (this.#map.size >= ADDR_CACHE_MAX) this.#map.clear();
    this.#map.set(key, { w0, w1, w2, w3, scope, flags, text });
    return text;
  }
}

const FLAG_TRUNCATED = 2;

export class BatchedUdpSocket implements CoreUdpSocket {
  readonly sender: BatchedSender;
  readonly #addon: MmsgAddon;
  readonly #id: number;
  readonly #rx: Buffer;
  readonly #group: BatchGroup;
  /** 4 or 6 (an IPv6 socket takes IPv4 sources and destinations as ::ffff:a.b.c.d). */
  readonly family: number;
  /** Threads receiving on this port (1: only the main thread). */
  readonly workers: number;
  #closed = false;

  private constructor(addon: MmsgAddon, id: number, family: number, rx: Buffer, sender: BatchedSender, group: BatchGroup, workers: number) {
    this.#addon = addon;
    this.workers = workers;
    this.#id = id;
    this.family = family;
    this.#rx = rx;
    this.sender = sender;
    this.#group = group;
  }

  /** Binds like bindUdp() (same error text and code on failure). */
  static open(
    addon: MmsgAddon,
    address: string,
    port: number,
    onMessage: DatagramHandler,
    group: BatchGroup,
    errors: SendErrorCounter,
    workers = 1,
  ): BatchedUdpSocket {
    const family = udpTypeFor(address) === 'udp6' ? 6 : 4;
    const slot = addon.SLOT;
    // Its own ArrayBuffer (never from the pool), not zero-filled: RB slots of 64 KiB are
    // 4 MiB of address space, of which only the pages datagrams reach become resident.
    const rx = Buffer.allocUnsafeSlow(addon.RB * slot);
    const rxDesc = new Int32Array(addon.RB * addon.RXD);
    const stride = addon.RXD;
    const cache = new AddrCache(addon);
    const rinfo: { address: string; family: 'IPv4' | 'IPv6'; port: number; size: number } = {
      address: '',
      family: family === 6 ? 'IPv6' : 'IPv4',
      port: 0,
      size: 0,
    };
    const onBatch = (start: number, end: number): number => {
      group.inBatch = true;
      try {
        const before = group.beforeRun;
        if (before !== null) before();
        const gen = group.tableGen;
        for (let j = start; j < end; j++) {
          if (group.tableGen !== gen) return j; // the addon decides j.. again
          const d = j * stride;
          const flags = rxDesc[d + 7];
          if ((flags & FLAG_TRUNCATED) !== 0) {
            group.counters.rxTruncated++;
            continue;
          }
          const len = rxDesc[d];
          rinfo.address = cache.text(flags, rxDesc[d + 2], rxDesc[d + 3], rxDesc[d + 4], rxDesc[d + 5], rxDesc[d + 6]);
          rinfo.port = rxDesc[d + 1];
          rinfo.size = len;
          const off = j * slot;
          onMessage(rx.subarray(off, off + len), rinfo as RemoteInfo);
        }
        return end;
      } finally {
        group.flushDirty();
        group.inBatch = false;
      }
    };
    let id: number;
    try {
      id = addon.open(address, port, family, MEDIA_SOCKET_BUFFER_BYTES, rx, rxDesc, onBatch, workers);
    } catch (err) {
      const e = (err instanceof Error ? err : new Error(String(err))) as NodeJS.ErrnoException;
      e.message = `cannot bind UDP ${address}:${port}: ${e.message}`;
      throw e;
    }
    group.addArena(rx);
    const sender = new BatchedSender(addon, id, family, rx, group, errors);
    return new BatchedUdpSocket(addon, id, family, rx, sender, group, workers);
  }

  /**
   * [rxCalls, rxPackets, rxTruncated, rxErrors, txCalls, txPackets, txDropFull, txErrors, rcvbuf, sndbuf]:
   * the workers' sockets included (but the buffer sizes, which are the main socket's).
   */
  stats(): number[] {
    return this.#addon.stats(this.#id);
  }

  /** Datagrams received by each thread on this port: [main, worker 1, …]. */
  laneStats(): number[] {
    return this.#addon.laneStats(this.#id);
  }

  /** The addon's id of this socket (for the native fan-out tables). */
  get id(): number {
    return this.#id;
  }

  /** The addon this socket belongs to. */
  get addon(): MmsgAddon {
    return this.#addon;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.sender.close();
      this.#addon.close(this.#id);
      this.#group.removeArena(this.#rx);
    }
    return Promise.resolve();
  }
}
