/**
 * SIP transports (RFC 3261 §18): one UDP socket and one TCP listener on
 * SIP_PORT. Turns bytes into parsed messages tagged with where they came from,
 * and sends bytes back (UDP to an address, TCP on the connection a request
 * arrived on). Input defects are counted by reason and never throw.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { SipTransport as TransportName } from '../../config/types.js';
import { DropCounter } from '../../runtime/drop-counter.js';
import { RateLimitedLog } from '../../runtime/rate-limited-log.js';
import { type KnownSources, TcpAdmission } from '../../runtime/tcp-admission.js';
import type { Logger } from '../../runtime/logger.js';
import { frameDatagram, StreamFramer, type Frame } from './framing.js';
import { parseSipMessage, type ParseResult } from '../message.js';

export interface SipSource {
  readonly transport: 'udp' | 'tcp';
  readonly address: string;
  readonly port: number;
  /** The TCP connection the message came on. */
  readonly connId?: number;
}

export interface TransportLimits {
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  /** TCP admission (runtime/tcp-admission.ts): places only known sources may use (at most a quarter). */
  readonly reservedForKnown: number;
  /** Connections of one unknown source address (known: four times as many). */
  readonly maxPerSource: number;
  /** Connections of one unknown source that have not sent a whole message yet (known: twice as many). */
  readonly maxPendingPerSource: number;
  /** Deadline for the first whole message on a connection; under pressure for unknown sources the shorter one. */
  readonly firstMessageTimeoutMs: number;
  readonly pressureFirstMessageTimeoutMs: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  maxConnections: 1024, idleTimeoutMs: 120_000, reservedForKnown: 256, maxPerSource: 64, maxPendingPerSource: 32,
  firstMessageTimeoutMs: 10_000, pressureFirstMessageTimeoutMs: 2_000,
};

export type MessageHandler = (result: ParseResult, src: SipSource) => void;

interface Conn {
  readonly id: number;
  readonly socket: net.Socket;
  readonly framer: StreamFramer;
}

export class SipTransportLayer {
  readonly drops = new DropCounter();
  readonly #log: Logger;
  readonly #onMessage: MessageHandler;
  readonly #limits: TransportLimits;
  #udp: dgram.Socket | null = null;
  #tcp: net.Server | null = null;
  readonly #conns = new Map<number, Conn>();
  #nextConnId = 1;
  #closed = false;
  #port = 0;

  readonly #admission: TcpAdmission;

  /**
   * `known` names the source addresses TCP admission prefers (participants, peers, authenticated);
   * refusals are counted in `drops` (sip_tcp_too_many_pending, _source_limit, _full, _evicted) and
   * logged through `refusalLog`.
   */
  constructor(log: Logger, onMessage: MessageHandler, limits: TransportLimits = DEFAULT_TRANSPORT_LIMITS,
    known: KnownSources = () => false, refusalLog: RateLimitedLog = new RateLimitedLog(log)) {
    this.#log = log;
    this.#onMessage = onMessage;
    this.#limits = limits;
    this.#admission = new TcpAdmission('sip_tcp', () => ({
      maxConnections: this.#limits.maxConnections,
      reservedForKnown: this.#limits.reservedForKnown,
      maxPerSource: this.#limits.maxPerSource,
      maxPendingPerSource: this.#limits.maxPendingPerSource,
      handshakeTimeoutMs: Math.min(this.#limits.firstMessageTimeoutMs, this.#limits.idleTimeoutMs),
      pressureHandshakeTimeoutMs: this.#limits.pressureFirstMessageTimeoutMs,
    }), known, this.drops, refusalLog);
  }

  /** The bound SIP port (the same for UDP and TCP). */
  get port(): number {
    return this.#port;
  }

  async start(address: string, port: number, transports: readonly TransportName[]): Promise<void> {
    let bound = port;
    if (transports.includes('udp')) {
      const family = net.isIPv6(address) ? 'udp6' : 'udp4';
      const udp = dgram.createSocket({ type: family });
      this.#udp = udp;
      udp.on('error', (err) => { this.#log.warn('sip_udp_error', { error: err.message }); });
      udp.on('message', (buf, rinfo) => { this.#onDatagram(buf, rinfo.address, rinfo.port); });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, address, () => { udp.off('error', reject); resolve(); });
      });
      bound = udp.address().port;
    }
    if (transports.includes('tcp')) {
      const server = net.createServer((s) => { this.#onConnection(s); });
      this.#tcp = server;
      server.on('error', (err) => { this.#log.warn('sip_tcp_error', { error: err.message }); });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: bound, host: address }, () => { server.off('error', reject); resolve(); });
      });
      const a = server.address();
      if (a !== null && typeof a === 'object') bound = a.port;
    }
    this.#port = bound;
  }

  #onDatagram(buf: Buffer, address: string, port: number): void {
    try {
      const f = frameDatagram(buf);
      if (f === 'keepalive') return;
      if (typeof f === 'string') {
        this.drops.add(f);
        return;
      }
      this.#deliver(f, { transport: 'udp', address, port });
    } catch (err) {
      this.drops.add('sip_internal_error');
      this.#log.error('sip_handler_error', { error: err instanceof Error ? err.stack : String(err) });
    }
  }

  #deliver(f: Frame, src: SipSource): void {
    const r = parseSipMessage(f.head, f.body);
    if (!r.ok) this.drops.add(r.reason);
    this.#onMessage(r, src);
  }

  #onConnection(socket: net.Socket): void {
    socket.on('error', () => { /* counted on close */ });
    if (this.#closed) { socket.destroy(); return; }
    // Global, per-source and reserved limits; a known source may evict an unknown idle one (tcp-admission.ts).
    const ticket = this.#admission.admit(socket);
    if (ticket === null) return;
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const conn: Conn = { id: this.#nextConnId++, socket, framer: new StreamFramer() };
    this.#conns.set(conn.id, conn);
    // Until its first whole message a connection has the (shorter) first-message deadline.
    let settled = false;
    socket.setTimeout(ticket.handshakeTimeoutMs);
    socket.on('timeout', () => { this.drops.add('sip_tcp_idle'); socket.destroy(); });
    socket.on('close', () => { this.#conns.delete(conn.id); });
    const frames: Frame[] = [];
    socket.on('data', (chunk: Buffer) => {
      try {
        frames.length = 0;
        const err = conn.framer.push(chunk, frames);
        if (!settled && frames.length > 0) {
          settled = true;
          ticket.settled();
          socket.setTimeout(this.#limits.idleTimeoutMs);
        }
        for (const f of frames) {
          if (socket.destroyed) break;
          this.#deliver(f, { transport: 'tcp', address, port, connId: conn.id });
        }
        if (err !== null) {
          this.drops.add(err);
          socket.destroy();
        }
      } catch (e) {
        this.drops.add('sip_internal_error');
        this.#log.error('sip_handler_error', { error: e instanceof Error ? e.stack : String(e) });
        socket.destroy();
      }
    });
  }

  /** Sends `data` to `dest`; returns false if it could not be handed to the OS (TCP connection gone). */
  send(dest: SipSource, data: Buffer): boolean {
    if (this.#closed) return false;
    if (dest.transport === 'udp') {
      if (this.#udp === null) return false;
      this.#udp.send(data, dest.port, dest.address, (err) => {
        if (err) this.drops.add('sip_udp_send_error');
      });
      return true;
    }
    const conn = dest.connId !== undefined ? this.#conns.get(dest.connId) : undefined;
    if (conn === undefined || conn.socket.destroyed) return false;
    conn.socket.write(data);
    return true;
  }

  connectionCount(): number {
    return this.#conns.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#conns.values()) c.socket.destroy();
    this.#conns.clear();
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = null;
    this.#tcp = null;
    if (udp !== null) await new Promise<void>((resolve) => { udp.close(() => resolve()); });
    if (tcp !== null) await new Promise<void>((resolve) => { tcp.close(() => resolve()); });
  }
}
