/**
 * The proxy tests' harness (as test/interconnect/harness.ts is the interconnect's): reflectors with
 * the real core, the proxy and, with peers, the real interconnect; participants with an RFLX client;
 * a hand-driven raw peer with participants in a session; the TCP parts on their own (spool, file
 * server, share hub); idle and raw TCP connections; deterministic test bytes; bounded waits.
 *
 * useProxyHarness() registers one afterEach that closes everything made through it, in order
 * (clients' RFLX sockets, TCP sockets, share hubs, raw peers, reflectors in reverse — proxy, link,
 * core —, file servers, spools, clients) and removes its temporary directories. Every wait clears
 * its own timer.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/types.js';
import type { Interconnect, InterconnectTiming } from '../../src/interconnect/index.js';
import { FileServer, type FileServerOptions } from '../../src/proxy/file-server.js';
import { FileSpool, type FileSpoolOptions } from '../../src/proxy/file-spool.js';
import { createProxy, type Proxy, type ProxyOptions } from '../../src/proxy/index.js';
import { ShareHub, type ShareHubOptions } from '../../src/proxy/share-hub.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { silentLogger, type Logger } from '../../src/runtime/logger.js';
import { RflxClient } from '../../tools/lib/proxy-client.js';
import { prng } from '../helpers/prng.js';
import { withTimeout } from '../helpers/udp.js';
import { waitUntil } from '../helpers/wait.js';
import { startRealNode } from '../interconnect/harness.js';
import { RawPeer } from '../interconnect/raw-peer.js';
import { startCore, TestClient, type TestCore } from '../reflector/fixture.js';

// ─── Test bytes ──────────────────────────────────────────────────────────────

/** Deterministic pseudo-random bytes (test/helpers/prng.ts), `total` bytes in `chunkSize` chunks. */
export function* patternChunks(total: number, chunkSize = 64 * 1024, seed = 0x12345678): Generator<Buffer> {
  const next = prng(seed);
  let left = total;
  while (left > 0) {
    const n = Math.min(chunkSize, left);
    const buf = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) buf.writeUInt32LE(next() * 0x1_0000_0000 >>> 0, i);
    for (; i < n; i++) buf[i] = i & 0xff;
    left -= n;
    yield buf;
  }
}

export function patternBuffer(total: number, seed?: number): Buffer {
  return Buffer.concat([...patternChunks(total, 64 * 1024, seed)]);
}

export function patternSha256(total: number, seed?: number): string {
  const h = createHash('sha256');
  for (const c of patternChunks(total, 64 * 1024, seed)) h.update(c);
  return h.digest('hex');
}

/** Resolves `p`, or rejects after `ms` with `what` in the message; the timer is always cleared. */
export const within: <T>(p: Promise<T>, ms: number, what: string) => Promise<T> = withTimeout;

// ─── Raw TCP ─────────────────────────────────────────────────────────────────

export interface RawExchange {
  /** Everything the server sent until it closed. */
  readonly received: string;
  /** ms from connect to close. */
  readonly elapsedMs: number;
}

/** Connects, writes `send` (if any), and collects what comes back until the server closes. */
export function rawExchange(host: string, port: number, send: string | null, sockets: Set<Socket>, localAddress?: string): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = connect({ host, port, localAddress });
    sockets.add(s);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.once('connect', () => { if (send !== null) s.write(send); });
    s.once('close', (hadError) => {
      if (chunks.length === 0 && hadError && Date.now() - started < 5) reject(new Error('connect failed'));
      else resolve({ received: Buffer.concat(chunks).toString('latin1'), elapsedMs: Date.now() - started });
    });
  });
}

/** A connection that sends nothing (a slow-loris), and whether the server has closed it. */
export interface IdleConnection {
  readonly sock: Socket;
  closed(): boolean;
}

// ─── Reflectors, participants, peers ─────────────────────────────────────────

/** A reflector under test: the real core, the proxy, and the real interconnect when it has peers. */
export interface ProxyReflector {
  readonly address: string;
  readonly core: TestCore;
  readonly config: Config;
  readonly link: Interconnect | null;
  readonly proxy: Proxy;
  /** Its FILE_SPOOL_DIR. */
  readonly spool: string;
}

/** A reflector with peers: it runs the interconnect. */
export type PeeredReflector = ProxyReflector & { readonly link: Interconnect };

export interface ReflectorOptions {
  /** Config over the core's test defaults; FILE_TRANSFER_PORT 0 and a temporary FILE_SPOOL_DIR unless given. */
  readonly config?: Partial<Config>;
  /** Peers (their addresses): the reflector runs the real interconnect too. */
  readonly peers?: readonly string[];
  /** The peers' relay port (test/interconnect/harness.ts RELAY_PORT unless given). */
  readonly relayPort?: number;
  readonly timing?: Partial<InterconnectTiming>;
  readonly proxy?: ProxyOptions;
  readonly logger?: Logger;
}

/** A participant joined through the core's API (as SIP does), with an RFLX client on its RTCP socket. */
export interface Participant {
  readonly client: TestClient;
  readonly rflx: RflxClient;
}

export interface ParticipantOptions {
  readonly session: string;
  readonly ssrc: number;
  readonly user: string;
  /** The dialog's ACK confirms the client's address (default); false: nothing can reach it until its RTCP latches. */
  readonly ack?: boolean;
}

export class ProxyHarness {
  /** TCP sockets a test opened; destroyed after it. */
  readonly sockets = new Set<Socket>();
  readonly #reflectors: ProxyReflector[] = [];
  readonly #participants: Participant[] = [];
  readonly #raws: RawPeer[] = [];
  readonly #hubs: ShareHub[] = [];
  readonly #servers: FileServer[] = [];
  readonly #spools: FileSpool[] = [];
  readonly #dirs: string[] = [];

  /** A temporary directory, removed after the test. */
  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /** Starts a reflector on `address` (see ReflectorOptions); with peers it runs the interconnect. */
  reflector(address: string, opts: ReflectorOptions & { readonly peers: readonly string[] }): Promise<PeeredReflector>;
  reflector(address: string, opts?: ReflectorOptions): Promise<ProxyReflector>;
  async reflector(address: string, opts: ReflectorOptions = {}): Promise<ProxyReflector> {
    const config: Partial<Config> = {
      fileTransferPort: 0,
      ...opts.config,
      fileSpoolDir: opts.config?.fileSpoolDir ?? await this.tempDir('proxy-spool-'),
    };
    let core: TestCore;
    let full: Config;
    let link: Interconnect | null = null;
    if (opts.peers === undefined) {
      ({ core, config: full } = await startCore(address, config));
    } else {
      const node = await startRealNode(address, {
        config, peers: opts.peers,
        ...(opts.relayPort !== undefined ? { relayPort: opts.relayPort } : {}),
        ...(opts.timing !== undefined ? { timing: opts.timing } : {}),
      });
      ({ core, config: full, link } = node);
    }
    const proxy = createProxy({
      config: full, logger: opts.logger ?? silentLogger(), core, interconnect: link,
      ...(opts.proxy !== undefined ? { options: opts.proxy } : {}),
    });
    const r = { address, core, config: full, link, proxy, spool: full.fileSpoolDir };
    this.#reflectors.push(r);
    await proxy.start();
    return r;
  }

  /** A client on `address` joins `at`'s core; its RFLX client talks to `at`'s audio RTCP port. */
  async participant(at: ProxyReflector, address: string, opts: ParticipantOptions): Promise<Participant> {
    const client = await TestClient.create(address);
    client.join(at.core, opts.session, [client.stream({ ssrcs: [opts.ssrc] })], { user: opts.user }, opts.ack === false ? null : client.ip);
    const rflx = new RflxClient(client.rtcp.socket, { address: at.address, port: at.config.audioPort + 1 }, opts.ssrc);
    const p = { client, rflx };
    this.#participants.push(p);
    return p;
  }

  /** A raw peer of `at` (one of its configured peers) that announces COUNT 1 in `session`, once `at` counts it. */
  async peerInSession(at: PeeredReflector, peerAddress: string, session: string, relayId: number): Promise<RawPeer> {
    const link = at.link;
    const peer = await RawPeer.bind(peerAddress);
    this.#raws.push(peer);
    await peer.sendControl(at.address, RflxSubtype.SessionState, { session, relayId, count: 1 });
    await waitUntil(() => link.remoteCount(session) === 1, 5000, 'peer COUNT 1');
    return peer;
  }

  // ─── The TCP parts on their own ────────────────────────────────────────────

  /** A FileSpool in a temporary directory (64 MiB, 60 s TTL unless given). */
  async spool(opts: Partial<Omit<FileSpoolOptions, 'dir'>> = {}): Promise<{ spool: FileSpool; dir: string }> {
    const dir = await this.tempDir('proxy-test-');
    const spool = new FileSpool({ maxBytes: 64 * 1024 * 1024, ttlMs: 60_000, ...opts, dir });
    this.#spools.push(spool);
    return { spool, dir };
  }

  /** A FileServer over `spool`, listening; its port. */
  async fileServer(spool: FileSpool, options: FileServerOptions): Promise<{ server: FileServer; port: number }> {
    const server = new FileServer(spool, options);
    this.#servers.push(server);
    return { server, port: await server.listen() };
  }

  shareHub(options: ShareHubOptions): ShareHub {
    const hub = new ShareHub(options);
    this.#hubs.push(hub);
    return hub;
  }

  /** An idle connection from `from` (its input is read and dropped, so that the server's FIN closes it). */
  async idle(host: string, port: number, from: string): Promise<IdleConnection> {
    const sock = connect({ host, port, localAddress: from });
    sock.on('error', () => undefined);
    sock.resume();
    this.sockets.add(sock);
    let closed = false;
    sock.once('close', () => { closed = true; });
    await within(new Promise<void>((r) => sock.once('connect', () => r())), 5000, 'connect');
    return { sock, closed: () => closed };
  }

  async close(): Promise<void> {
    for (const p of this.#participants) p.rflx.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    for (const h of this.#hubs.splice(0)) h.close();
    await Promise.all(this.#raws.splice(0).map((r) => r.close()));
    for (const r of this.#reflectors.splice(0).reverse()) {
      await r.proxy.close();
      await r.link?.close();
      await r.core.close();
    }
    for (const s of this.#servers.splice(0)) await s.close();
    for (const s of this.#spools.splice(0)) await s.close();
    await Promise.all(this.#participants.splice(0).map((p) => p.client.close()));
    for (const d of this.#dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}

/** A harness for one describe block, closed after each test (registers its own afterEach). */
export function useProxyHarness(): ProxyHarness {
  const h = new ProxyHarness();
  afterEach(() => h.close());
  return h;
}
