/**
 * A share whose sharer connects to this reflector (SPEC §8.2–§8.4, §8.6): the
 * sharer's bytes are copied to every authenticated viewer. A viewer whose send
 * queue grows over the bound is disconnected; the sharer is never paused.
 */
import type { Socket } from 'node:net';
import type { PooledListener } from './port-pool.js';
import { authenticateShareLine } from './share-auth.js';
import { destroyAfter, destroyAll, type ShareContext, ShareDrop, type ShareInfo, type ShareSnapshot } from './share-types.js';
import { closeWith, discard } from './tcp-line.js';

export class LocalShare {
  readonly kind = 'local' as const;
  readonly info: ShareInfo;
  readonly createdAt = Date.now();
  readonly #ctx: ShareContext;
  readonly #server: PooledListener;
  readonly #client: PooledListener;
  readonly #pending = new Set<Socket>();
  readonly #viewers = new Set<Socket>();
  #sharer: Socket | null = null;
  #live = false;
  #ended = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #grantTimer: NodeJS.Timeout | null;

  constructor(info: ShareInfo, server: PooledListener, client: PooledListener, ctx: ShareContext) {
    this.info = info;
    this.#ctx = ctx;
    this.#server = server;
    this.#client = client;
    server.server.on('connection', (s: Socket) => this.#onSharerConnection(s));
    client.server.on('connection', (s: Socket) => this.#onViewerConnection(s));
    this.#grantTimer = setTimeout(() => { if (!this.#live) this.end('unused'); }, ctx.tunables().grantTimeoutMs);
    this.#grantTimer.unref();
  }

  get serverPort(): number { return this.#server.port; }
  get clientPort(): number { return this.#client.port; }
  get live(): boolean { return this.#live; }
  get ended(): boolean { return this.#ended; }

  #accept(socket: Socket): boolean {
    socket.on('error', () => undefined);
    if (this.#ended || this.#pending.size + this.#viewers.size >= this.#ctx.tunables().maxConnectionsPerPort) {
      socket.destroy();
      return false;
    }
    socket.setNoDelay(true);
    this.#pending.add(socket);
    socket.once('close', () => this.#pending.delete(socket));
    return true;
  }

  #onSharerConnection(socket: Socket): void {
    if (!this.#accept(socket)) return;
    void authenticateShareLine(socket, 'SHARE', this.info, this.#ctx).then((rest) => {
      this.#pending.delete(socket);
      if (rest === null) return;
      if (this.#ended || socket.destroyed) { socket.destroy(); return; }
      if (this.#sharer !== null) {
        this.#ctx.drops.add(ShareDrop.SecondSharer);
        closeWith(socket, 'ERR already_shared');
        return;
      }
      this.#sharer = socket;
      if (this.#grantTimer !== null) { clearTimeout(this.#grantTimer); this.#grantTimer = null; }
      socket.write('OK\n');
      socket.on('data', (chunk: Buffer) => this.#fanOut(chunk));
      socket.once('close', () => this.end('sharer_closed'));
      if (rest.length > 0) this.#fanOut(rest);
      socket.resume();
      this.#live = true;
      this.#ctx.live(this.info.id);
    }).catch(() => { this.#pending.delete(socket); socket.destroy(); });
  }

  #onViewerConnection(socket: Socket): void {
    if (!this.#accept(socket)) return;
    void authenticateShareLine(socket, 'VIEW', this.info, this.#ctx).then((rest) => {
      this.#pending.delete(socket);
      if (rest === null) return;
      if (this.#ended || socket.destroyed) { socket.destroy(); return; }
      socket.write('OK\n');
      this.#viewers.add(socket);
      this.#ctx.counters.viewersAccepted++;
      socket.once('close', () => this.#viewers.delete(socket));
      // Bytes from viewers are discarded (SPEC §8.4); reading them keeps the socket flowing.
      socket.on('data', discard);
      socket.resume();
    }).catch(() => { this.#pending.delete(socket); socket.destroy(); });
  }

  /** Hot path of the share: one chunk of the sharer to every viewer. */
  #fanOut(chunk: Buffer): void {
    const n = chunk.length;
    this.#bytesIn += n;
    this.#ctx.counters.bytesIn += n;
    const bound = this.#ctx.tunables().viewerBufferBytes;
    for (const viewer of this.#viewers) {
      if (viewer.writableLength + n > bound) {
        this.#viewers.delete(viewer);
        this.#ctx.drops.add(ShareDrop.SlowViewer);
        this.#ctx.counters.viewersDropped++;
        const who = `${viewer.remoteAddress ?? '?'}:${viewer.remotePort ?? '?'}`;
        viewer.destroy();
        this.#ctx.viewerDropped(this.info.id, who);
        continue;
      }
      viewer.write(chunk);
      this.#bytesOut += n;
      this.#ctx.counters.bytesOut += n;
    }
  }

  /** Ends the share: closes the sharer, viewers and both listeners. Idempotent. */
  end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#grantTimer !== null) { clearTimeout(this.#grantTimer); this.#grantTimer = null; }
    this.#sharer?.destroy();
    for (const v of this.#viewers) v.end();
    // Viewers get what was queued for them, then FIN; a viewer that does not read is cut after a while.
    destroyAfter([...this.#viewers], this.#ctx.tunables().handshakeTimeoutMs);
    this.#viewers.clear();
    destroyAll(this.#pending);
    this.#server.server.close();
    this.#client.server.close();
    this.#ctx.ended(this.info.id, reason);
  }

  snapshot(): ShareSnapshot {
    return {
      id: this.info.id,
      session: this.info.session,
      title: this.info.title,
      sharer: this.info.sharer,
      origin: 'local',
      serverPort: this.#server.port,
      clientPort: this.#client.port,
      live: this.#live,
      viewers: this.#viewers.size,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      createdAt: this.createdAt,
    };
  }
}
