/**
 * Admission of TCP connections on a listening port (the proxy's FILE_TRANSFER_PORT
 * and share ports, SIP over TCP): limits that protect the people already talking.
 *
 * - Global: at most `maxConnections` at once on the port.
 * - Reserved: `reservedForKnown` of them only for known sources (the source IP
 *   of a participant in a session, or the configured address of a peer
 *   reflector); unknown sources together get the rest.
 * - Per source (unknown sources): at most `maxPerSource` connections, of which
 *   at most `maxPendingPerSource` have not sent their first line yet.
 * - Preference: when the port is full, a known source's connection evicts the
 *   oldest connection of an unknown source that has not authenticated yet.
 * - Pressure: once half of the unknown share is in use, new unknown
 *   connections get `pressureHandshakeTimeoutMs` for their first line instead
 *   of the normal deadline.
 *
 * Every refusal is counted by a stable reason (metric label) and logged at
 * most once per reason per log interval.
 */
import type { Socket } from 'node:net';
import type { DropCounter } from './drop-counter.js';
import type { RateLimitedLog } from './rate-limited-log.js';

export interface TcpAdmissionLimits {
  readonly maxConnections: number;
  /** Connections only known sources may use (clamped to a quarter of maxConnections). */
  readonly reservedForKnown: number;
  /** Connections of one unknown source (pending and authenticated); a known source may hold four times as many. */
  readonly maxPerSource: number;
  /** Connections of one unknown source that have not sent their first line yet (a known source: twice as many). */
  readonly maxPendingPerSource: number;
  /** Normal deadline for the first line. */
  readonly handshakeTimeoutMs: number;
  /** Deadline for the first line of an unknown source while the port is under pressure. */
  readonly pressureHandshakeTimeoutMs: number;
}

/** Refusal reasons; the part prefix (`file`, `share`, `sip_tcp`) is added by the caller. */
export const AdmissionRefusal = {
  TooManyPending: 'too_many_pending',
  SourceLimit: 'source_limit',
  Full: 'full',
  Evicted: 'evicted',
} as const;
export type AdmissionRefusal = (typeof AdmissionRefusal)[keyof typeof AdmissionRefusal];

/** Decides whether an IP address is a known participant or peer. */
export type KnownSources = (ip: string) => boolean;

export interface AdmissionTicket {
  readonly source: string;
  readonly known: boolean;
  /** Deadline for the first line of this connection. */
  readonly handshakeTimeoutMs: number;
  /** The first line arrived (authenticated or answered): no longer pending nor evictable. */
  settled(): void;
}

interface Ticket extends AdmissionTicket {
  pending: boolean;
  released: boolean;
  readonly socket: Socket;
}

interface SourceCount {
  total: number;
  pending: number;
}

/** `::ffff:a.b.c.d` → `a.b.c.d`, so both forms count as one source. */
export function sourceKey(address: string | undefined): string {
  const a = address ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export class TcpAdmission {
  readonly #part: string;
  readonly #limits: () => TcpAdmissionLimits;
  readonly #known: KnownSources;
  readonly #drops: DropCounter;
  readonly #log: RateLimitedLog;
  readonly #bySource = new Map<string, SourceCount>();
  /** Pending connections of unknown sources, oldest first (eviction order). */
  readonly #evictable = new Set<Ticket>();
  #total = 0;
  #unknown = 0;

  constructor(part: string, limits: () => TcpAdmissionLimits, known: KnownSources, drops: DropCounter, log: RateLimitedLog) {
    this.#part = part;
    this.#limits = limits;
    this.#known = known;
    this.#drops = drops;
    this.#log = log;
  }

  get connections(): number { return this.#total; }
  get unknownConnections(): number { return this.#unknown; }

  /**
   * Admits `socket` or refuses it (destroyed, counted, logged); the ticket is
   * released when the socket closes.
   */
  admit(socket: Socket): AdmissionTicket | null {
    const l = this.#limits();
    const source = sourceKey(socket.remoteAddress);
    const known = this.#known(source);
    const reserved = Math.min(l.reservedForKnown, Math.floor(l.maxConnections / 4));
    const unknownCapacity = l.maxConnections - reserved;
    const count = this.#bySource.get(source) ?? { total: 0, pending: 0 };
    if (count.pending >= l.maxPendingPerSource * (known ? 2 : 1)) return this.#refuse(socket, AdmissionRefusal.TooManyPending, source, known);
    if (count.total >= l.maxPerSource * (known ? 4 : 1)) return this.#refuse(socket, AdmissionRefusal.SourceLimit, source, known);
    if (known) {
      if (this.#total >= l.maxConnections && !this.#evictOne()) return this.#refuse(socket, AdmissionRefusal.Full, source, known);
    } else if (this.#unknown >= unknownCapacity || this.#total >= l.maxConnections) {
      return this.#refuse(socket, AdmissionRefusal.Full, source, known);
    }
    const pressure = !known && this.#unknown >= unknownCapacity / 2;
    const ticket: Ticket = {
      source,
      known,
      handshakeTimeoutMs: pressure ? Math.min(l.pressureHandshakeTimeoutMs, l.handshakeTimeoutMs) : l.handshakeTimeoutMs,
      pending: true,
      released: false,
      socket,
      settled: () => { this.#settle(ticket); },
    };
    count.total++;
    count.pending++;
    this.#bySource.set(source, count);
    this.#total++;
    if (!known) { this.#unknown++; this.#evictable.add(ticket); }
    socket.once('close', () => { this.#release(ticket); });
    return ticket;
  }

  #settle(t: Ticket): void {
    if (!t.pending || t.released) return;
    t.pending = false;
    this.#evictable.delete(t);
    const c = this.#bySource.get(t.source);
    if (c !== undefined) c.pending--;
  }

  #release(t: Ticket): void {
    if (t.released) return;
    this.#settle(t);
    t.released = true;
    this.#total--;
    if (!t.known) this.#unknown--;
    const c = this.#bySource.get(t.source);
    if (c !== undefined && --c.total <= 0) this.#bySource.delete(t.source);
  }

  /** Frees a slot for a known source: the oldest unauthenticated connection of an unknown source goes. */
  #evictOne(): boolean {
    const victim = this.#evictable.values().next().value;
    if (victim === undefined) return false;
    this.#note(AdmissionRefusal.Evicted, victim.source, false);
    this.#release(victim);
    victim.socket.destroy();
    return true;
  }

  #refuse(socket: Socket, reason: AdmissionRefusal, source: string, known: boolean): null {
    socket.on('error', () => undefined);
    socket.destroy();
    this.#note(reason, source, known);
    return null;
  }

  #note(reason: AdmissionRefusal, source: string, known: boolean): void {
    const label = `${this.#part}_${reason}`;
    this.#drops.add(label);
    this.#log.warn(label, `${this.#part}_connection_refused`, {
      reason: label,
      source,
      known,
      connections: this.#total,
      note: `further ${label} lines suppressed for ${this.#log.intervalMs / 1000} s; see reflector_proxy_events_total{name="${label}"}`,
    });
  }
}
