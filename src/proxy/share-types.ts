/**
 * Shared vocabulary of the application-sharing part (SPEC §8): what a share is,
 * its snapshot for status, the counters, and the tunables.
 */
import type { Socket } from 'node:net';
import type { DropCounter } from '../runtime/drop-counter.js';
import type { AdmissionTicket } from '../runtime/tcp-admission.js';

export interface ShareInfo {
  readonly id: number;
  readonly session: string;
  readonly title: string;
  readonly sharer: string;
  readonly passkey: Buffer;
}

export interface ShareSnapshot {
  readonly id: number;
  readonly session: string;
  readonly title: string;
  readonly sharer: string;
  /** `local`: the sharer is connected here; `peer`: proxied from the origin reflector. */
  readonly origin: 'local' | 'peer';
  /** Peer key ("address:port") the announcement came from, for `peer` shares. */
  readonly peer?: string;
  readonly serverPort?: number;
  readonly clientPort: number;
  /** Local: the sharer has authenticated (the share is announced). */
  readonly live: boolean;
  readonly viewers: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly createdAt: number;
}

export interface ShareTunables {
  /** Deadline for the `SHARE` / `VIEW` line (SPEC §8.2: 10 s). */
  readonly handshakeTimeoutMs: number;
  /** A viewer with more than this queued is disconnected (SPEC §8.4). */
  readonly viewerBufferBytes: number;
  /** A granted share whose sharer never authenticates is released after this. */
  readonly grantTimeoutMs: number;
  /** Connections (pending and authenticated) per share port. */
  readonly maxConnectionsPerPort: number;
  /** Connections of one unknown source address per share port that have not sent their `SHARE`/`VIEW` line yet (known: twice). */
  readonly maxPendingPerSource: number;
  /** Connections of one unknown source address per share port in all (known sources: four times as many). */
  readonly maxPerSource: number;
  /** Of maxConnectionsPerPort, how many only participants and peers may use (at most a quarter). */
  readonly reservedForKnown: number;
  /** Deadline for the first line of an unknown source once half of a port's unknown share is in use. */
  readonly pressureHandshakeTimeoutMs: number;
  /** Idle limit of a peer's upstream connection before it is considered dead. */
  readonly upstreamTimeoutMs: number;
}

export const DEFAULT_SHARE_TUNABLES: ShareTunables = {
  handshakeTimeoutMs: 10_000,
  viewerBufferBytes: 4 * 1024 * 1024,
  grantTimeoutMs: 120_000,
  maxConnectionsPerPort: 256,
  maxPendingPerSource: 8,
  maxPerSource: 16,
  reservedForKnown: 64,
  pressureHandshakeTimeoutMs: 2_000,
  upstreamTimeoutMs: 30_000,
};

/** Drop and close reasons of the share part (metric labels). */
export const ShareDrop = {
  HandshakeTimeout: 'share_handshake_timeout',
  LineTooLong: 'share_line_too_long',
  BadLine: 'share_bad_line',
  Denied: 'share_denied',
  SecondSharer: 'share_second_sharer',
  SlowViewer: 'share_slow_viewer',
  UpstreamFailed: 'share_upstream_failed',
  TooManyPending: 'share_too_many_pending',
  /** Admission (tcp-admission.ts): one source's limit on a port, the port full, a pending unknown evicted for a participant. */
  SourceLimit: 'share_source_limit',
  Full: 'share_full',
  Evicted: 'share_evicted',
  /** Beyond a listener's hard limit (Node refuses before we see the socket). */
  OverHardLimit: 'share_over_hard_limit',
} as const;

export interface ShareCounters {
  bytesIn: number;
  bytesOut: number;
  viewersAccepted: number;
  viewersDropped: number;
}

/** What a share needs from the hub that owns it. */
export interface ShareContext {
  readonly tunables: () => ShareTunables;
  readonly drops: DropCounter;
  readonly counters: ShareCounters;
  /** The admission ticket of a connection accepted on a share port (undefined: refused, already destroyed). */
  readonly ticket: (socket: Socket) => AdmissionTicket | undefined;
  /** The share has ended (after it closed its sockets); the hub releases its ports. */
  readonly ended: (id: number, reason: string) => void;
  /** The sharer of a local share authenticated. */
  readonly live: (id: number) => void;
  /** A viewer was disconnected because it could not keep up (SPEC §8.4). */
  readonly viewerDropped: (id: number, viewer: string) => void;
}

/**
 * Gives sockets whose end is under way `graceMs` to deliver what is queued, then
 * destroys those still open (a peer that does not read cannot keep them).
 */
export function destroyAfter(sockets: readonly Socket[], graceMs: number): void {
  if (sockets.length === 0) return;
  const t = setTimeout(() => { for (const s of sockets) s.destroy(); }, graceMs);
  t.unref();
}

/** Destroys every socket of a set (bounded: the set only shrinks). */
export function destroyAll(sockets: Set<Socket>): void {
  for (const s of [...sockets]) s.destroy();
  sockets.clear();
}
