/**
 * A share announced by a peer reflector (SPEC §8.5). It owns a port of our client
 * range; each viewer that authenticates there is proxied: we open a TCP
 * connection to the announced address and port, send the same `VIEW` line, and
 * pipe the bytes back. A slow viewer back-pressures only its own upstream
 * connection, which the origin drops if it falls too far behind.
 */
import { connect, isIP, type Socket } from 'node:net';
import type { PooledListener } from './port-pool.js';
import { authenticateShareLine } from './share-auth.js';
import { destroyAfter, destroyAll, type ShareContext, ShareDrop, type ShareInfo, type ShareSnapshot } from './share-types.js';
import { closeWith, discard, LINE_MAX_BYTES, readLine } from './tcp-line.js';

export interface ShareOrigin {
  /** Key of the peer the announcement came from. */
  readonly peerKey: string;
  /** The announced ADDRESS and PORT. */
  readonly address: string;
  readonly port: number;
}

export class RemoteShare {
  readonly kind = 'peer' as const;
  readonly info: ShareInfo;
  readonly origin: ShareOrigin;
  readonly createdAt = Date.now();
  readonly #ctx: ShareContext;
  readonly #client: PooledListener;
  readonly #localAddress: string | undefined;
  readonly #pending = new Set<Socket>();
  readonly #viewers = new Set<Socket>();
  readonly #upstreams = new Set<Socket>();
  #ended = false;
  #bytesOut = 0;

  constructor(info: ShareInfo, origin: ShareOrigin, client: PooledListener, ctx: ShareContext, localAddress?: string) {
    this.info = info;
    this.origin = origin;
    this.#ctx = ctx;
    this.#client = client;
    this.#localAddress =
      localAddress !== undefined && isIP(localAddress) === isIP(origin.address) && !isWildcard(localAddress)
        ? localAddress
        : undefined;
    client.server.on('connection', (s: Socket) => this.#onViewerConnection(s));
  }

  get clientPort(): number { return this.#client.port; }
  get ended(): boolean { return this.#ended; }

  #onViewerConnection(viewer: Socket): void {
    viewer.on('error', () => undefined);
    if (this.#ended || this.#pending.size + this.#viewers.size >= this.#ctx.tunables().maxConnectionsPerPort) {
      viewer.destroy();
      return;
    }
    viewer.setNoDelay(true);
    this.#pending.add(viewer);
    viewer.once('close', () => this.#pending.delete(viewer));
    void authenticateShareLine(viewer, 'VIEW', this.info, this.#ctx).then((rest) => {
      if (rest === null) { this.#pending.delete(viewer); return; }
      if (this.#ended || viewer.destroyed) { viewer.destroy(); return; }
      return this.#proxy(viewer);
    }).catch(() => { this.#pending.delete(viewer); viewer.destroy(); });
  }

  async #proxy(viewer: Socket): Promise<void> {
    const t = this.#ctx.tunables();
    const upstream = connect({ host: this.origin.address, port: this.origin.port, localAddress: this.#localAddress });
    upstream.on('error', () => undefined);
    upstream.setNoDelay(true);
    this.#upstreams.add(upstream);
    upstream.once('close', () => { this.#upstreams.delete(upstream); viewer.end(); });
    viewer.once('close', () => upstream.destroy());
    upstream.write(`VIEW ${this.info.id} ${this.info.passkey.toString('hex')}\n`);
    const answer = await readLine(upstream, LINE_MAX_BYTES, t.handshakeTimeoutMs);
    this.#pending.delete(viewer);
    if (this.#ended || viewer.destroyed) { upstream.destroy(); viewer.destroy(); return; }
    if (!answer.ok || answer.line !== 'OK') {
      this.#ctx.drops.add(ShareDrop.UpstreamFailed);
      upstream.destroy();
      closeWith(viewer, 'ERR upstream_failed');
      return;
    }
    this.#viewers.add(viewer);
    this.#ctx.counters.viewersAccepted++;
    viewer.once('close', () => this.#viewers.delete(viewer));
    viewer.on('data', discard);
    viewer.resume();
    viewer.write('OK\n');
    upstream.setTimeout(t.upstreamTimeoutMs, () => upstream.destroy());
    upstream.on('data', (chunk: Buffer) => {
      this.#bytesOut += chunk.length;
      this.#ctx.counters.bytesOut += chunk.length;
    });
    if (answer.rest.length > 0) upstream.unshift(answer.rest);
    upstream.pipe(viewer);
  }

  /** Ends the proxied share: closes the viewers, upstream connections and the listener. Idempotent. */
  end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    // The origin closes its side too; what is still in flight is delivered, then stragglers are cut.
    destroyAfter([...this.#viewers, ...this.#upstreams], this.#ctx.tunables().handshakeTimeoutMs);
    this.#viewers.clear();
    this.#upstreams.clear();
    destroyAll(this.#pending);
    this.#client.server.close();
    this.#ctx.ended(this.info.id, reason);
  }

  snapshot(): ShareSnapshot {
    return {
      id: this.info.id,
      session: this.info.session,
      title: this.info.title,
      sharer: this.info.sharer,
      origin: 'peer',
      peer: this.origin.peerKey,
      clientPort: this.#client.port,
      live: true,
      viewers: this.#viewers.size,
      bytesIn: this.#bytesOut,
      bytesOut: this.#bytesOut,
      createdAt: this.createdAt,
    };
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
