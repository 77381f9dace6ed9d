/**
 * Shared vocabulary of the file-transfer part (SPEC §9): the spool entry, its
 * snapshot for status, drop reasons and tunables.
 */

/** Where a peer's file comes from: the announced ADDRESS and PORT, and the peer that announced it. */
export interface FileOrigin {
  readonly peerKey: string;
  readonly address: string;
  readonly port: number;
}

/**
 * granted → uploading → ready   (a local upload; a failed upload goes back to granted)
 * remote → fetching → ready     (a peer's file, cached on first download; a failed fetch goes back to remote)
 */
export type FileState = 'granted' | 'uploading' | 'ready' | 'remote' | 'fetching';

/** What identifies a file and what its announcements carry (SPEC §7 subtypes 7 and 20). */
export interface FileAnnouncement {
  readonly id: number;
  readonly passkey: Buffer;
  readonly session: string;
  /** The client's NAME: only announced, never used as a path. */
  readonly name: string;
  readonly size: number;
  readonly sha256: Buffer;
  readonly sender: string;
}

export interface FileEntry extends FileAnnouncement {
  /** null for a file uploaded here. */
  readonly origin: FileOrigin | null;
  /** Our own spool file name (absolute path). */
  readonly path: string;
  readonly createdAt: number;
  state: FileState;
  expiresAt: number;
  downloads: number;
}

export interface FileSnapshot {
  readonly id: number;
  readonly session: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly sender: string;
  readonly origin: 'local' | 'peer';
  readonly peer?: string;
  readonly state: FileState;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly downloads: number;
}

export interface FileTunables {
  /** Deadline for the `PUT` / `GET` line. */
  readonly handshakeTimeoutMs: number;
  /** An upload or origin fetch idle this long is abandoned. */
  readonly idleTimeoutMs: number;
  /** Simultaneous connections on FILE_TRANSFER_PORT. */
  readonly maxConnections: number;
  /** Connections of one unknown source address that have not sent their PUT/GET line yet (known: twice). */
  readonly maxPendingPerSource: number;
  /** Connections of one unknown source address in all (known sources: four times as many). */
  readonly maxPerSource: number;
  /** Of maxConnections, how many only participants and peers may use (at most a quarter). */
  readonly reservedForKnown: number;
  /** Deadline for the PUT/GET line of an unknown source once half of the unknown share is in use. */
  readonly pressureHandshakeTimeoutMs: number;
  /** FILE_TTL override in ms (tests); else FILE_TTL seconds from the config. */
  readonly ttlMs?: number;
}

export const DEFAULT_FILE_TUNABLES: FileTunables = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 512,
  maxPendingPerSource: 8,
  maxPerSource: 16,
  reservedForKnown: 128,
  pressureHandshakeTimeoutMs: 2_000,
};

/** Drop and failure reasons of the file part (metric labels). */
export const FileDrop = {
  HandshakeTimeout: 'file_handshake_timeout',
  LineTooLong: 'file_line_too_long',
  BadLine: 'file_bad_line',
  Denied: 'file_denied',
  Busy: 'file_busy',
  NotReady: 'file_not_ready',
  BadOffset: 'file_bad_offset',
  TooManyBytes: 'file_too_many_bytes',
  EarlyEnd: 'file_early_end',
  BadDigest: 'file_bad_digest',
  IoError: 'file_io_error',
  FetchFailed: 'file_fetch_failed',
  Idle: 'file_idle',
  TooManyPending: 'file_too_many_pending',
  /** Admission (tcp-admission.ts): one source's connection limit, the port full, a pending unknown evicted for a participant. */
  SourceLimit: 'file_source_limit',
  Full: 'file_full',
  Evicted: 'file_evicted',
  /** Beyond the listener's hard limit (Node refuses before we see the socket). */
  OverHardLimit: 'file_over_hard_limit',
} as const;

export function fileSnapshot(e: FileEntry): FileSnapshot {
  const base = {
    id: e.id,
    session: e.session,
    name: e.name,
    size: e.size,
    sha256: e.sha256.toString('hex'),
    sender: e.sender,
    state: e.state,
    createdAt: e.createdAt,
    expiresAt: e.expiresAt,
    downloads: e.downloads,
  };
  return e.origin === null ? { ...base, origin: 'local' } : { ...base, origin: 'peer', peer: e.origin.peerKey };
}
