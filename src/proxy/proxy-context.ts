/**
 * What the parts of the proxy's RFLX layer share: the TCP parts, the bookkeeping of shares and files,
 * the refusal log, the limits and drop reasons. ProxyImpl (proxy.ts) owns it and its life cycle; the
 * parts are proxy-requests.ts (participants' requests), proxy-announce.ts (announcements) and
 * proxy-peers.ts (peers' announcements and session presence).
 */
import type { Config } from '../config/types.js';
import type { InterconnectLink } from '../interconnect/api.js';
import type { ReflectorCore } from '../reflector/api.js';
import { DropCounter } from '../runtime/drop-counter.js';
import type { Logger } from '../runtime/logger.js';
import type { RateLimitedLog } from '../runtime/rate-limited-log.js';
import type { AnswerCache } from './answer-cache.js';
import type { FileServer } from './file-server.js';
import type { FileSpool } from './file-spool.js';
import type { ShareHub } from './share-hub.js';

/** RFLX input the proxy refuses (metric labels). */
export const ProxyDrop = {
  UnexpectedSubtype: 'proxy_unexpected_subtype',
  MissingRequestId: 'proxy_missing_request_id',
  BadRequest: 'proxy_bad_request',
  BadPeerMessage: 'proxy_bad_peer_message',
  PeerIdTaken: 'proxy_peer_id_taken',
  PoolExhausted: 'proxy_pool_exhausted',
  PeerFileRefused: 'proxy_peer_file_refused',
  PeerNoSession: 'proxy_peer_no_session',
  FileRefused: 'proxy_file_refused',
  ListenFailed: 'proxy_listen_failed',
  ParticipantLimit: 'proxy_participant_limit',
  /** A peer message from a peer key the interconnect does not know (no configured address to connect to). */
  UnknownPeer: 'proxy_unknown_peer',
} as const;

/** Peer announcements (18, 20) are repeated this often, like SESSION_STATE (SPEC §6). */
export const PEER_ANNOUNCE_REFRESH_MS = 5000;
/** A peer's share not announced again for this many refresh intervals has ended (its SHARE_END was lost). */
export const PEER_SHARE_MISSED_REFRESHES = 3.5;

/** Local shares one participant may hold at once (granted or live). */
export const MAX_SHARES_PER_PARTICIPANT = 4;
/** File grants one participant may hold before uploading them. */
export const MAX_PENDING_FILES_PER_PARTICIPANT = 8;
/** Files one participant may have in the spool at once (granted, uploading or verified). */
export const MAX_FILES_PER_PARTICIPANT = 64;
/** Files announced by one peer that are remembered at once (each lives FILE_TTL). */
export const MAX_PEER_FILES_PER_PEER = 256;

/** Longest TITLE / NAME accepted from a client, in bytes of UTF-8. */
export const TEXT_MAX_BYTES = 255;

/** True when every given text fits TEXT_MAX_BYTES (absent ones count as empty). */
export function textsFit(...texts: (string | undefined)[]): boolean {
  for (const t of texts) if (t !== undefined && Buffer.byteLength(t) > TEXT_MAX_BYTES) return false;
  return true;
}

/** Refusals (input defects) are logged at most once per event per interval; the counters count them all. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface ProxyParts {
  readonly config: Config;
  readonly core: ReflectorCore;
  readonly link: InterconnectLink | null;
  readonly logger: Logger;
  readonly refusals: RateLimitedLog;
  readonly answers: AnswerCache;
  readonly hub: ShareHub;
  readonly spool: FileSpool;
  readonly files: FileServer;
  readonly peerRefreshMs: number;
}

/** The proxy's shared state (see the file comment); `config` and `state` are ProxyImpl's to change. */
export class ProxyContext {
  readonly core: ReflectorCore;
  readonly link: InterconnectLink | null;
  readonly logger: Logger;
  readonly drops = new DropCounter();
  readonly answers: AnswerCache;
  readonly hub: ShareHub;
  readonly spool: FileSpool;
  readonly files: FileServer;
  readonly peerRefreshMs: number;
  /** Peers each share / file was announced to (so SHARE_END reaches them, and none gets it twice). */
  readonly sharePeers = new Map<number, Set<string>>();
  readonly filePeers = new Map<number, Set<string>>();
  /** Peer shares: when their origin peer last announced them (ms). */
  readonly peerShareSeen = new Map<number, number>();
  /** Shares whose announcement reached participants (SHARE_END is owed to them). */
  readonly announced = new Set<number>();
  /** Who asked for each local share / file grant (per-participant limits). */
  readonly shareOwner = new Map<number, string>();
  readonly fileOwner = new Map<number, string>();
  config: Config;
  state: 'new' | 'running' | 'closed' = 'new';
  /** Last time each refusal event was logged (keys are the few event names of the parts). */
  readonly #refusals: RateLimitedLog;

  constructor(p: ProxyParts) {
    this.config = p.config;
    this.core = p.core;
    this.link = p.link;
    this.logger = p.logger;
    this.#refusals = p.refusals;
    this.answers = p.answers;
    this.hub = p.hub;
    this.spool = p.spool;
    this.files = p.files;
    this.peerRefreshMs = p.peerRefreshMs;
  }

  /** The address announced for our TCP ports. */
  get here(): string { return this.config.publicAddress; }

  /** A warn line for a refused request or announcement, at most once per event per REFUSAL_LOG_INTERVAL_MS. */
  refused(event: string, fields: Record<string, unknown>): void {
    this.#refusals.warn(event, event, { ...fields, note: `further ${event} lines suppressed for ${REFUSAL_LOG_INTERVAL_MS / 1000} s; see the proxy counters` });
  }

  /** Logs a bug of ours caught by a backstop. */
  internalError(err: unknown): void {
    this.logger.error('proxy_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
}
