/**
 * Owns the application shares of this reflector (SPEC §8): local ones (a sharer
 * connects here) and proxied ones announced by peers, with the two port pools
 * they draw from. The RFLX glue in index.ts drives it and listens to its events.
 */
import type { PortRange } from '../config/types.js';
import { DropCounter } from '../runtime/drop-counter.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import { LocalShare } from './local-share.js';
import type { Socket } from 'node:net';
import { silentLogger } from '../runtime/logger.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import { type AdmissionTicket, type KnownSources, TcpAdmission } from '../runtime/tcp-admission.js';
import { listenFromPool, PortPool, type PooledListener } from './port-pool.js';
import { RemoteShare, type ShareOrigin } from './remote-share.js';
import {
  DEFAULT_SHARE_TUNABLES,
  ShareDrop,
  type ShareContext,
  type ShareCounters,
  type ShareInfo,
  type ShareSnapshot,
  type ShareTunables,
} from './share-types.js';

export type Share = LocalShare | RemoteShare;

export type ShareHubEvents = {
  /** The sharer of a local share authenticated: announce it. */
  'share-live': [share: LocalShare];
  /** A share ended (its sockets are closed and its ports released). */
  'share-ended': [share: Share, reason: string];
  /** A viewer was disconnected because it could not keep up (address:port of the viewer). */
  'viewer-dropped': [shareId: number, viewer: string];
};

export interface ShareHubOptions {
  /** Address the share ports listen on (LISTEN_ADDRESS). */
  readonly host: string;
  readonly serverPorts: PortRange;
  readonly clientPorts: PortRange;
  readonly tunables?: Partial<ShareTunables> | undefined;
  /** Participants' and peers' addresses, preferred by admission (default: none known). */
  readonly known?: KnownSources;
  /** Where refusals are logged (rate-limited); default: nowhere (they are still counted). */
  readonly refusalLog?: RateLimitedLog;
}

export class ShareHub {
  readonly events = new TypedEmitter<ShareHubEvents>();
  readonly drops = new DropCounter();
  readonly counters: ShareCounters = { bytesIn: 0, bytesOut: 0, viewersAccepted: 0, viewersDropped: 0 };
  readonly #serverPool: PortPool;
  readonly #clientPool: PortPool;
  readonly #shares = new Map<number, Share>();
  readonly #ctx: ShareContext;
  #host: string;
  #tunables: ShareTunables;
  readonly #known: KnownSources;
  readonly #refusalLog: RateLimitedLog;
  readonly #tickets = new WeakMap<Socket, AdmissionTicket>();
  #closed = false;

  constructor(options: ShareHubOptions) {
    this.#host = options.host;
    this.#serverPool = new PortPool(options.serverPorts);
    this.#clientPool = new PortPool(options.clientPorts);
    this.#tunables = { ...DEFAULT_SHARE_TUNABLES, ...options.tunables };
    this.#known = options.known ?? (() => false);
    this.#refusalLog = options.refusalLog ?? new RateLimitedLog(silentLogger());
    // The shares' own per-port check is a backstop behind admission: it sees a slightly higher bound, so that a
    // connection admitted in the same turn as an eviction (the evicted socket not closed yet) is not refused there.
    const backstop: ShareTunables = { ...this.#tunables, maxConnectionsPerPort: this.#tunables.maxConnectionsPerPort + 8 };
    this.#ctx = {
      tunables: () => backstop,
      drops: this.drops,
      counters: this.counters,
      ticket: (socket) => this.#tickets.get(socket),
      ended: (id, reason) => this.#onEnded(id, reason),
      live: (id) => {
        const share = this.#shares.get(id);
        if (share?.kind === 'local') this.events.emit('share-live', share);
      },
      viewerDropped: (id, viewer) => { this.events.emit('viewer-dropped', id, viewer); },
    };
  }

  /** New port ranges (SIGHUP); existing shares keep their ports. */
  reconfigure(options: Omit<ShareHubOptions, 'host' | 'tunables'>): void {
    this.#serverPool.setRange(options.serverPorts);
    this.#clientPool.setRange(options.clientPorts);
  }

  has(id: number): boolean {
    return this.#shares.has(id);
  }

  get(id: number): Share | undefined {
    return this.#shares.get(id);
  }

  list(): Share[] {
    return [...this.#shares.values()];
  }

  snapshots(): ShareSnapshot[] {
    return this.list().map((s) => s.snapshot());
  }

  /** Opens a server port and a client port for a new local share; null when a pool is exhausted. */
  async createLocal(info: ShareInfo): Promise<LocalShare | null> {
    if (this.#closed || this.#shares.has(info.id)) return null;
    const server = await this.#listen(this.#serverPool);
    if (server === null) return null;
    const client = await this.#listen(this.#clientPool);
    if (client === null || this.#closed || this.#shares.has(info.id)) {
      this.#release(this.#serverPool, server);
      if (client !== null) this.#release(this.#clientPool, client);
      return null;
    }
    const share = new LocalShare(info, server, client, this.#ctx);
    this.#shares.set(info.id, share);
    return share;
  }

  /** Opens a client port that proxies viewers to the origin of a peer's share; null when exhausted. */
  async createRemote(info: ShareInfo, origin: ShareOrigin): Promise<RemoteShare | null> {
    if (this.#closed || this.#shares.has(info.id)) return null;
    const client = await this.#listen(this.#clientPool);
    if (client === null) return null;
    if (this.#closed || this.#shares.has(info.id)) {
      this.#release(this.#clientPool, client);
      return null;
    }
    const share = new RemoteShare(info, origin, client, this.#ctx, this.#host);
    this.#shares.set(info.id, share);
    return share;
  }

  end(id: number, reason: string): void {
    this.#shares.get(id)?.end(reason);
  }

  /** Ends every share. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const share of this.list()) share.end('shutdown');
  }

  async #listen(pool: PortPool): Promise<PooledListener | null> {
    // Admission per port (tcp-admission.ts); it runs before the share's own 'connection' listener,
    // which finds a refused socket destroyed and lets it go.
    const admission = new TcpAdmission('share', () => {
      const t = this.#tunables;
      return {
        maxConnections: t.maxConnectionsPerPort,
        reservedForKnown: t.reservedForKnown,
        maxPerSource: t.maxPerSource,
        maxPendingPerSource: t.maxPendingPerSource,
        handshakeTimeoutMs: t.handshakeTimeoutMs,
        pressureHandshakeTimeoutMs: t.pressureHandshakeTimeoutMs,
      };
    }, this.#known, this.drops, this.#refusalLog);
    const onConnection = (socket: Socket): void => {
      socket.on('error', () => undefined);
      const ticket = admission.admit(socket);
      if (ticket !== null) this.#tickets.set(socket, ticket);
    };
    const listener = await listenFromPool(pool, this.#host, onConnection, { allowHalfOpen: false });
    if (listener !== null) {
      listener.server.maxConnections = this.#tunables.maxConnectionsPerPort + 64;
      listener.server.on('drop', () => { this.drops.add(ShareDrop.OverHardLimit); });
    }
    return listener;
  }

  #release(pool: PortPool, listener: PooledListener): void {
    listener.server.close(() => pool.release(listener.port));
  }

  #onEnded(id: number, reason: string): void {
    const share = this.#shares.get(id);
    if (share === undefined) return;
    this.#shares.delete(id);
    // The port goes back to its pool once the listener is closed (server.close() is under way).
    if (share.kind === 'local') {
      this.#serverPool.release(share.serverPort);
      this.#clientPool.release(share.clientPort);
    } else {
      this.#clientPool.release(share.clientPort);
    }
    this.events.emit('share-ended', share, reason);
  }
}
