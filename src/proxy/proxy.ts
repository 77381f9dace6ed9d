/**
 * Application sharing and file transfer (SPEC §7 subtypes 1–8 and 18–20, §8, §9):
 * the thin RFLX layer over the TCP parts.
 *
 *   participant ──RFLX 1/5 (audio RTCP port)──▶ core ──onParticipantRflx──▶ Proxy ──▶ ShareHub / FileSpool
 *   Proxy ──RFLX 2/6/8 answers, 3/4/7 announcements──▶ core.sendTo(participant, audio, rtcp)
 *   Proxy ◀──peer-rflx 18/19/20── interconnect ◀──▶ peers; Proxy ──sendRflx 18/19/20──▶ peers
 *
 * TCP: share ports (share-hub.ts, local-share.ts, remote-share.ts) and
 * FILE_TRANSFER_PORT (file-server.ts, file-spool.ts, file-fetch.ts).
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/types.js';
import type { InterconnectLink } from '../interconnect/api.js';
import { isValidSessionName } from '../rtp/session-name.js';
import type { ReflectorCore } from '../reflector/api.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import { parseRflx } from '../rtp/rflx.js';
import { RflxErrorCode, RflxSubtype, type RflxFields, type RflxMessage } from '../rtp/rflx-types.js';
import type { Component } from '../runtime/component.js';
import { DropCounter } from '../runtime/drop-counter.js';
import type { Logger } from '../runtime/logger.js';
import type { EventMap, TypedEmitter } from '../runtime/typed-emitter.js';
import { AnswerCache } from './answer-cache.js';
import * as msg from './announcer.js';
import { FileServer } from './file-server.js';
import { FileSpool } from './file-spool.js';
import type { FileEntry, FileSnapshot, FileTunables } from './file-types.js';
import { newId, newPasskey, PASSKEY_BYTES } from './passkey.js';
import { type Share, ShareHub } from './share-hub.js';
import { sourceKey } from '../runtime/tcp-admission.js';
import type { ShareSnapshot, ShareTunables } from './share-types.js';

export type { FileSnapshot } from './file-types.js';
export type { ShareSnapshot } from './share-types.js';

export interface ProxyOptions {
  readonly share?: Partial<ShareTunables>;
  readonly file?: Partial<FileTunables>;
  /** How long the answer to a REQUEST_ID is kept for retransmissions. */
  readonly answerCacheMs?: number;
  /** How often shares and files are announced again to peers with participants (lost datagrams). */
  readonly peerRefreshMs?: number;
}

/** Peer announcements (18, 20) are repeated this often, like SESSION_STATE (SPEC §6). */
export const PEER_ANNOUNCE_REFRESH_MS = 5000;
/** A peer's share not announced again for this many refresh intervals has ended (its SHARE_END was lost). */
export const PEER_SHARE_MISSED_REFRESHES = 3.5;

export interface ProxyDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  readonly interconnect: InterconnectLink | null;
  /** Shorter deadlines for tests. */
  readonly options?: ProxyOptions;
}

export type Proxy = Component & {
  shares(): ShareSnapshot[];
  files(): FileSnapshot[];
  stats(): Record<string, number>;
  /** The port FILE_TRANSFER_PORT is listening on (differs from the config when it is 0). */
  fileTransferPort(): number;
};

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

function countOwned(owners: ReadonlyMap<number, string>, participantId: string): number {
  let n = 0;
  for (const owner of owners.values()) if (owner === participantId) n++;
  return n;
}

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
function textsFit(...texts: (string | undefined)[]): boolean {
  for (const t of texts) if (t !== undefined && Buffer.byteLength(t) > TEXT_MAX_BYTES) return false;
  return true;
}

const ANSWER_CACHE_MS = 60_000;
/** How stale the known-sources set of TCP admission may be (a latch or a leave refreshes it at once). */
const KNOWN_REFRESH_MS = 1_000;

/** "ip:port" or "[v6]:port" → ip. */
function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const colon = endpoint.lastIndexOf(':');
  return colon < 0 ? endpoint : endpoint.slice(0, colon);
}
/** Refusals (input defects) are logged at most once per event per interval; the counters count them all. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** The proxy: the RFLX layer over the share hub and the file spool (see the file comment). */
export class ProxyImpl implements Proxy {
  readonly #core: ReflectorCore;
  readonly #link: InterconnectLink | null;
  readonly #logger: Logger;
  readonly #drops = new DropCounter();
  readonly #answers: AnswerCache;
  readonly #hub: ShareHub;
  readonly #spool: FileSpool;
  readonly #files: FileServer;
  /** Peers each share / file was announced to (so SHARE_END reaches them, and none gets it twice). */
  readonly #sharePeers = new Map<number, Set<string>>();
  readonly #filePeers = new Map<number, Set<string>>();
  #peerRefresh: NodeJS.Timeout | null = null;
  /** Peer shares: when their origin peer last announced them (ms). */
  readonly #peerShareSeen = new Map<number, number>();
  readonly #peerRefreshMs: number;
  /** Shares whose announcement reached participants (SHARE_END is owed to them). */
  readonly #announced = new Set<number>();
  /** Who asked for each local share / file grant (per-participant limits). */
  readonly #shareOwner = new Map<number, string>();
  readonly #fileOwner = new Map<number, string>();
  #config: Config;
  #state: 'new' | 'running' | 'closed' = 'new';
  #requests = 0;
  readonly #unsubscribe: (() => void)[] = [];
  /** Last time each refusal event was logged (keys are the few event names below). */
  readonly #refusals: RateLimitedLog;

  constructor(deps: ProxyDeps) {
    this.#config = deps.config;
    this.#core = deps.core;
    this.#link = deps.interconnect;
    this.#peerRefreshMs = deps.options?.peerRefreshMs ?? PEER_ANNOUNCE_REFRESH_MS;
    this.#logger = deps.logger;
    this.#refusals = new RateLimitedLog(deps.logger, REFUSAL_LOG_INTERVAL_MS);
    const o = deps.options ?? {};
    this.#answers = new AnswerCache(o.answerCacheMs ?? ANSWER_CACHE_MS);
    const known = (ip: string): boolean => this.#isKnown(ip);
    this.#hub = new ShareHub({
      host: deps.config.listenAddress,
      serverPorts: deps.config.appshareServerPorts,
      clientPorts: deps.config.appshareClientPorts,
      tunables: o.share,
      known,
      refusalLog: this.#refusals,
    });
    this.#spool = new FileSpool(this.#spoolOptions(deps.config, o.file));
    this.#files = new FileServer(this.#spool, {
      host: deps.config.listenAddress, port: deps.config.fileTransferPort, tunables: o.file, known, refusalLog: this.#refusals,
    });
    this.#fileTtlOverride = o.file?.ttlMs;
  }

  readonly #fileTtlOverride: number | undefined;

  /** Source IPs of participants (SDP and latched addresses) and configured peers; rebuilt at most once a second. */
  #known: Set<string> | null = null;
  #knownAt = 0;

  /** TCP admission prefers these sources (tcp-admission.ts). */
  #isKnown(ip: string): boolean {
    const now = Date.now();
    if (this.#known === null || now - this.#knownAt > KNOWN_REFRESH_MS) {
      const set = new Set<string>();
      for (const p of this.#config.peers) set.add(sourceKey(p.address));
      for (const session of this.#core.snapshot()) {
        for (const p of session.participants) {
          for (const st of p.streams) {
            set.add(sourceKey(st.sdpAddress));
            if (st.rtpSource !== undefined) set.add(sourceKey(hostOf(st.rtpSource)));
            if (st.rtcpSource !== undefined) set.add(sourceKey(hostOf(st.rtcpSource)));
          }
        }
      }
      this.#known = set;
      this.#knownAt = now;
    }
    return this.#known.has(ip);
  }

  #spoolOptions(config: Config, file: Partial<FileTunables> | undefined): { dir: string; maxBytes: number; ttlMs: number } {
    return { dir: config.fileSpoolDir, maxBytes: config.fileMaxBytes, ttlMs: file?.ttlMs ?? config.fileTtlS * 1000 };
  }

  // ─── Component ──────────────────────────────────────────────────────────

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    try {
      // A missing spool directory would otherwise make every FILE_REQUEST look like a full spool (507).
      await mkdir(this.#spool.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.#logger.error('spool_unavailable', { spool: this.#spool.dir, error: err instanceof Error ? err.message : String(err) });
    }
    const swept = await this.#spool.sweepStale();
    if (swept > 0) this.#logger.info('spool_swept', { spool: this.#spool.dir, files: swept, note: 'left behind by a reflector process that no longer runs' });
    await this.#files.listen();
    this.#state = 'running';
    this.#core.setRflxHandler({ onParticipantRflx: (id, session, app) => this.#guard(() => this.#onParticipantRflx(id, session, app)) });
    this.#on(this.#hub.events, 'share-live', (share) => this.#guard(() => this.#onShareLive(share.info.id)));
    this.#on(this.#hub.events, 'share-ended', (share, reason) => this.#guard(() => this.#onShareEnded(share, reason)));
    this.#on(this.#hub.events, 'viewer-dropped', (shareId, viewer) => {
      this.#logger.info('share_viewer_dropped', { shareId, viewer, reason: 'slow', note: 'the viewer fell more than the per-viewer buffer behind the sharer' });
    });
    this.#on(this.#spool.events, 'file-ready', (entry) => this.#guard(() => this.#onFileReady(entry)));
    this.#on(this.#spool.events, 'file-removed', (entry, reason) => this.#guard(() => {
      this.#filePeers.delete(entry.id);
      this.#fileOwner.delete(entry.id);
      this.#logger.info('file_removed', { fileId: entry.id, session: entry.session, reason });
    }));
    this.#on(this.#core.events, 'rtcp-latched', (id, session) => this.#guard(() => { this.#known = null; this.#onRtcpLatched(id, session); }));
    this.#on(this.#core.events, 'session-empty', (session) => this.#guard(() => this.#maybeEndSession(session)));
    this.#on(this.#core.events, 'participant-removed', (id) => { this.#known = null; this.#answers.forgetParticipant(id); });
    const link = this.#link;
    if (link !== null) {
      this.#on(link.events, 'peer-rflx', (peerKey, m) => this.#guard(() => this.#onPeerRflx(peerKey, m)));
      this.#on(link.events, 'remote-count', (session, peerKey, count) => this.#guard(() => this.#onRemoteCount(session, peerKey, count)));
      // The restarted peer's files went with its old process (its spool is swept at start): forget them.
      this.#on(link.events, 'peer-restarted', (peerKey) => this.#guard(() => this.#spool.removePeer(peerKey, 'peer_restarted')));
      this.#peerRefresh = setInterval(() => this.#guard(() => this.#refreshPeers()), this.#peerRefreshMs);
      this.#peerRefresh.unref();
    }
    this.#logger.info('proxy_started', {
      fileTransferPort: this.#files.port,
      serverPorts: `${this.#config.appshareServerPorts.first}-${this.#config.appshareServerPorts.last}`,
      clientPorts: `${this.#config.appshareClientPorts.first}-${this.#config.appshareClientPorts.last}`,
      spool: this.#config.fileSpoolDir,
    });
  }

  reload(config: Config): void {
    const before = this.#config;
    this.#config = config;
    this.#hub.reconfigure({ serverPorts: config.appshareServerPorts, clientPorts: config.appshareClientPorts });
    this.#spool.reconfigure({ ...this.#spoolOptions(config, undefined), ttlMs: this.#fileTtlOverride ?? config.fileTtlS * 1000 });
    if (before.fileTransferPort !== config.fileTransferPort || before.listenAddress !== config.listenAddress) {
      this.#logger.warn('proxy_restart_needed', { note: 'FILE_TRANSFER_PORT and LISTEN_ADDRESS apply after a restart' });
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'closed';
    if (wasRunning) this.#core.setRflxHandler(null);
    if (this.#peerRefresh !== null) clearInterval(this.#peerRefresh);
    this.#peerRefresh = null;
    // Shares end first, while still subscribed: participants get SHARE_END and peers 19.
    this.#hub.close();
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe.length = 0;
    await this.#files.close();
    await this.#spool.close();
  }

  shares(): ShareSnapshot[] { return this.#hub.snapshots(); }
  files(): FileSnapshot[] { return this.#spool.snapshots(); }
  fileTransferPort(): number { return this.#files.port; }

  stats(): Record<string, number> {
    let local = 0;
    let peer = 0;
    let viewers = 0;
    for (const s of this.#hub.snapshots()) {
      if (s.origin === 'local') local++; else peer++;
      viewers += s.viewers;
    }
    let filesLocal = 0;
    let filesPeer = 0;
    for (const f of this.#spool.list()) if (f.origin === null) filesLocal++; else filesPeer++;
    const sc = this.#hub.counters;
    const fc = this.#files.counters;
    return {
      requests: this.#requests,
      shares_local: local,
      shares_peer: peer,
      share_viewers: viewers,
      share_viewers_accepted: sc.viewersAccepted,
      share_viewers_dropped: sc.viewersDropped,
      share_bytes_in: sc.bytesIn,
      share_bytes_out: sc.bytesOut,
      files_local: filesLocal,
      files_peer: filesPeer,
      file_uploads_ok: fc.uploadsOk,
      file_uploads_failed: fc.uploadsFailed,
      file_downloads: fc.downloads,
      file_bytes_in: fc.bytesIn,
      file_bytes_out: fc.bytesOut,
      file_fetches: fc.fetches,
      ...this.#drops.snapshot(),
      ...this.#hub.drops.snapshot(),
      ...this.#files.drops.snapshot(),
    };
  }

  #on<E extends EventMap, K extends keyof E & string>(
    emitter: TypedEmitter<E>,
    event: K,
    listener: (...args: E[K]) => void,
  ): void {
    emitter.on(event, listener);
    this.#unsubscribe.push(() => { emitter.off(event, listener); });
  }

  /** Backstop for our own bugs: a handler never throws into the core or the link. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error('proxy_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  }

  /** A warn line for a refused request or announcement, at most once per event per REFUSAL_LOG_INTERVAL_MS. */
  #refused(event: string, fields: Record<string, unknown>): void {
    this.#refusals.warn(event, event, { ...fields, note: `further ${event} lines suppressed for ${REFUSAL_LOG_INTERVAL_MS / 1000} s; see the proxy counters` });
  }

  get #here(): string { return this.#config.publicAddress; }

  // ─── Requests from participants (subtypes 1, 5 → 2, 6, 8) ───────────────

  #onParticipantRflx(participantId: string, session: string, app: Buffer): void {
    if (this.#state !== 'running') return;
    const m = parseRflx(app, 0, app.length);
    if (typeof m === 'string') { this.#drops.add(m); return; }
    if (m.subtype !== RflxSubtype.ShareRequest && m.subtype !== RflxSubtype.FileRequest) {
      this.#drops.add(ProxyDrop.UnexpectedSubtype);
      return;
    }
    const requestId = m.fields.requestId;
    if (requestId === undefined) { this.#drops.add(ProxyDrop.MissingRequestId); return; }
    const key = AnswerCache.key(participantId, requestId);
    const now = Date.now();
    const cached = this.#answers.lookup(key, now);
    if (cached === null) return; // being prepared; the answer goes out when ready
    if (cached !== undefined) { this.#core.sendTo(participantId, 'audio', true, cached); return; }
    this.#requests++;
    this.#answers.begin(key, now);
    const answer = m.subtype === RflxSubtype.ShareRequest
      ? this.#shareRequest(participantId, session, requestId, m.fields)
      : this.#fileRequest(participantId, session, requestId, m.fields);
    void answer.then(
      (buf) => {
        this.#answers.complete(key, buf);
        if (this.#state === 'running') this.#core.sendTo(participantId, 'audio', true, buf);
      },
      (err: unknown) => {
        this.#logger.error('proxy_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
        const buf = msg.errorAnswer(requestId, RflxErrorCode.Internal, 'internal error');
        this.#answers.complete(key, buf);
        if (this.#state === 'running') this.#core.sendTo(participantId, 'audio', true, buf);
      },
    );
  }

  #participantName(participantId: string, session: string): string {
    for (const s of this.#core.snapshot()) {
      if (s.name !== session) continue;
      const p = s.participants.find((x) => x.id === participantId);
      if (p !== undefined) return p.displayName ?? p.user ?? p.sdesName ?? p.cname ?? participantId;
    }
    return participantId;
  }

  async #shareRequest(participantId: string, session: string, requestId: number, f: RflxFields): Promise<Buffer> {
    const title = f.title ?? '';
    if (!textsFit(title)) {
      this.#drops.add(ProxyDrop.BadRequest);
      return msg.errorAnswer(requestId, RflxErrorCode.BadRequest, 'title too long');
    }
    if (countOwned(this.#shareOwner, participantId) >= MAX_SHARES_PER_PARTICIPANT) {
      this.#drops.add(ProxyDrop.ParticipantLimit);
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, `at most ${MAX_SHARES_PER_PARTICIPANT} shares per participant`);
    }
    const id = newId((n) => this.#hub.has(n));
    const info = { id, session, title, sharer: this.#participantName(participantId, session), passkey: newPasskey() };
    const share = await this.#hub.createLocal(info);
    if (share === null) {
      this.#drops.add(ProxyDrop.PoolExhausted);
      this.#refused('share_refused', { session, participant: participantId, reason: 'pool_exhausted' });
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, 'no free application-sharing port');
    }
    this.#shareOwner.set(id, participantId);
    this.#logger.info('share_granted', { shareId: id, session, sharer: info.sharer, serverPort: share.serverPort, clientPort: share.clientPort });
    return msg.shareGrant(requestId, info, { address: this.#here, port: share.serverPort });
  }

  async #fileRequest(participantId: string, session: string, requestId: number, f: RflxFields): Promise<Buffer> {
    const name = f.name ?? '';
    if (f.size === undefined || f.sha256 === undefined || f.sha256.length !== 32 || !textsFit(name)) {
      this.#drops.add(ProxyDrop.BadRequest);
      return msg.errorAnswer(requestId, RflxErrorCode.BadRequest, 'FILE_REQUEST needs SIZE, SHA256 and a NAME of at most 255 bytes');
    }
    let pending = 0;
    let held = 0;
    for (const [id, owner] of this.#fileOwner) {
      if (owner !== participantId) continue;
      held++;
      const state = this.#spool.get(id)?.state;
      if (state === 'granted' || state === 'uploading') pending++;
    }
    if (pending >= MAX_PENDING_FILES_PER_PARTICIPANT) {
      this.#drops.add(ProxyDrop.ParticipantLimit);
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, `at most ${MAX_PENDING_FILES_PER_PARTICIPANT} pending uploads per participant`);
    }
    if (held >= MAX_FILES_PER_PARTICIPANT) {
      this.#drops.add(ProxyDrop.ParticipantLimit);
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, `at most ${MAX_FILES_PER_PARTICIPANT} files per participant in the spool`);
    }
    const sender = this.#participantName(participantId, session);
    const g = await this.#spool.grant({ session, name, size: f.size, sha256: f.sha256, sender });
    if (!g.ok) {
      this.#drops.add(ProxyDrop.FileRefused);
      this.#refused('file_refused', { session, participant: participantId, size: f.size, code: g.code, reason: g.reason });
      return msg.errorAnswer(requestId, g.code, g.reason);
    }
    this.#fileOwner.set(g.entry.id, participantId);
    this.#logger.info('file_granted', { fileId: g.entry.id, session, sender, size: g.entry.size });
    return msg.fileGrant(requestId, g.entry, { address: this.#here, port: this.#files.port });
  }

  // ─── Announcements (3, 4, 7 to participants; 18, 19, 20 to peers) ───────

  #toParticipants(session: string, packet: Buffer): void {
    for (const id of this.#core.participantIds(session)) this.#core.sendTo(id, 'audio', true, packet);
  }

  /** Sends a peer message to every peer with participants in the session except `except`, once per peer. */
  #toPeers(session: string, subtype: number, fields: RflxFields, sent: Set<string>, except: string | null): void {
    const link = this.#link;
    if (link === null) return;
    for (const peer of link.peersWithParticipants(session)) {
      if (peer === except || sent.has(peer)) continue;
      sent.add(peer);
      link.sendRflx(peer, subtype, { session, ...fields });
    }
  }

  #shareEndpoint(share: Share): msg.Endpoint {
    return { address: this.#here, port: share.clientPort };
  }

  #announceShare(share: Share): void {
    const ep = this.#shareEndpoint(share);
    this.#announced.add(share.info.id);
    this.#toParticipants(share.info.session, msg.shareAnnounce(share.info, ep));
    this.#announceShareToPeers(share);
  }

  #announceShareToPeers(share: Share): void {
    let sent = this.#sharePeers.get(share.info.id);
    if (sent === undefined) { sent = new Set(); this.#sharePeers.set(share.info.id, sent); }
    const from = share.kind === 'peer' ? share.origin.peerKey : null;
    this.#toPeers(share.info.session, RflxSubtype.PeerShareAnnounce, msg.shareAnnounceFields(share.info, this.#shareEndpoint(share)), sent, from);
  }

  #onShareLive(id: number): void {
    const share = this.#hub.get(id);
    if (share === undefined) return;
    this.#logger.info('share_started', { shareId: id, session: share.info.session, sharer: share.info.sharer });
    this.#announceShare(share);
  }

  #onShareEnded(share: Share, reason: string): void {
    const id = share.info.id;
    this.#peerShareSeen.delete(id);
    this.#shareOwner.delete(id);
    this.#logger.info('share_ended', { shareId: id, session: share.info.session, origin: share.kind, reason });
    if (this.#announced.delete(id)) this.#toParticipants(share.info.session, msg.shareEnd(id));
    const peers = this.#sharePeers.get(id);
    this.#sharePeers.delete(id);
    const link = this.#link;
    if (peers !== undefined && link !== null) {
      for (const peer of peers) link.sendRflx(peer, RflxSubtype.PeerShareEnd, { session: share.info.session, shareId: id });
    }
  }

  #fileEndpoint(): msg.Endpoint {
    return { address: this.#here, port: this.#files.port };
  }

  #announceFileToPeers(entry: FileEntry): void {
    let sent = this.#filePeers.get(entry.id);
    if (sent === undefined) { sent = new Set(); this.#filePeers.set(entry.id, sent); }
    const from = entry.origin?.peerKey ?? null;
    this.#toPeers(entry.session, RflxSubtype.PeerFileAnnounce, msg.fileAnnounceFields(entry, this.#fileEndpoint()), sent, from);
  }

  #onFileReady(entry: FileEntry): void {
    this.#logger.info('file_uploaded', { fileId: entry.id, session: entry.session, sender: entry.sender, size: entry.size });
    this.#toParticipants(entry.session, msg.fileAnnounce(entry, this.#fileEndpoint()));
    this.#announceFileToPeers(entry);
  }

  /** SPEC §7: a participant whose RTCP address latches gets every share and file still available. */
  #onRtcpLatched(participantId: string, session: string): void {
    for (const share of this.#hub.list()) {
      if (share.info.session !== session || !this.#announced.has(share.info.id)) continue;
      this.#core.sendTo(participantId, 'audio', true, msg.shareAnnounce(share.info, this.#shareEndpoint(share)));
    }
    for (const entry of this.#spool.available(session)) {
      this.#core.sendTo(participantId, 'audio', true, msg.fileAnnounce(entry, this.#fileEndpoint()));
    }
  }

  // ─── Peers (18, 19, 20 in; session presence) ────────────────────────────

  /**
   * An announcement to a peer is one UDP datagram and the Internet loses some: every refresh interval,
   * each announced share and available file goes again to every peer with participants in its session
   * (split horizon kept). A peer that already knows the id ignores the repeat.
   */
  #refreshPeers(): void {
    const stale = Date.now() - PEER_SHARE_MISSED_REFRESHES * this.#peerRefreshMs;
    for (const share of this.#hub.list()) {
      if (share.kind === 'peer' && (this.#peerShareSeen.get(share.info.id) ?? 0) < stale) share.end('peer_stale');
    }
    for (const share of this.#hub.list()) {
      if (!this.#announced.has(share.info.id)) continue;
      this.#sharePeers.get(share.info.id)?.clear();
      this.#announceShareToPeers(share);
    }
    for (const entry of this.#spool.list()) {
      if (entry.origin === null && entry.state !== 'ready') continue;
      this.#filePeers.get(entry.id)?.clear();
      this.#announceFileToPeers(entry);
    }
  }

  #onRemoteCount(session: string, peerKey: string, count: number): void {
    if (count > 0) {
      // A peer that now has participants gets what is available here (it may have joined late or restarted).
      for (const share of this.#hub.list()) {
        if (share.info.session === session && this.#announced.has(share.info.id)) this.#announceShareToPeers(share);
      }
      for (const entry of this.#spool.available(session)) this.#announceFileToPeers(entry);
      return;
    }
    // The peer has no one left in the session: what it announced is over, and it must get announcements again later.
    for (const share of this.#hub.list()) {
      if (share.info.session !== session) continue;
      if (share.kind === 'peer' && share.origin.peerKey === peerKey) share.end('peer_left');
      else this.#sharePeers.get(share.info.id)?.delete(peerKey);
    }
    for (const entry of this.#spool.list()) {
      if (entry.session === session) this.#filePeers.get(entry.id)?.delete(peerKey);
    }
    this.#maybeEndSession(session);
  }

  /** The session has participants here or at some peer. */
  #sessionAlive(session: string): boolean {
    return this.#core.participantIds(session).length > 0 || (this.#link?.remoteCount(session) ?? 0) > 0;
  }

  /** SPEC §9.4: files (and shares) go when the session no longer exists here nor at any peer. */
  #maybeEndSession(session: string): void {
    if (this.#sessionAlive(session)) return;
    for (const share of this.#hub.list()) if (share.info.session === session) share.end('session_ended');
    this.#spool.removeSession(session, 'session_ended');
  }

  #onPeerRflx(peerKey: string, m: RflxMessage): void {
    if (this.#state !== 'running') return;
    switch (m.subtype) {
      case RflxSubtype.PeerShareAnnounce:
        // A listen that fails (an address gone at run time) must not become an unhandled rejection.
        this.#onPeerShareAnnounce(peerKey, m.fields).catch((err: unknown) => {
          this.#drops.add(ProxyDrop.ListenFailed);
          this.#logger.error('proxy_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
        });
        break;
      case RflxSubtype.PeerShareEnd: this.#onPeerShareEnd(peerKey, m.fields); break;
      case RflxSubtype.PeerFileAnnounce: this.#onPeerFileAnnounce(peerKey, m.fields); break;
      default: this.#drops.add(ProxyDrop.UnexpectedSubtype);
    }
  }

  async #onPeerShareAnnounce(peerKey: string, f: RflxFields): Promise<void> {
    const { session, shareId, port, passkey } = f;
    if (session === undefined || shareId === undefined || port === undefined || port === 0 ||
        passkey === undefined || passkey.length !== PASSKEY_BYTES || !isValidSessionName(session) || !textsFit(f.title, f.sharer)) {
      this.#drops.add(ProxyDrop.BadPeerMessage);
      return;
    }
    const known = this.#hub.get(shareId);
    if (known !== undefined) {
      // A repeated announcement (refresh, or a loop in the topology) changes nothing but keeps the share alive.
      if (known.kind !== 'peer' || known.origin.peerKey !== peerKey) this.#drops.add(ProxyDrop.PeerIdTaken);
      else this.#peerShareSeen.set(shareId, Date.now());
      return;
    }
    // Nothing would ever end a share of a session nobody is in (no session-empty, no COUNT 0 to come).
    if (!this.#sessionAlive(session)) { this.#drops.add(ProxyDrop.PeerNoSession); return; }
    const address = this.#peerTcpAddress(peerKey);
    if (address === undefined) return;
    const info = { id: shareId, session, title: f.title ?? '', sharer: f.sharer ?? '', passkey };
    this.#peerShareSeen.set(shareId, Date.now()); // before the await: a refresh tick may run meanwhile
    const share = await this.#hub.createRemote(info, { peerKey, address, port });
    if (share === null) {
      if (!this.#hub.has(shareId)) this.#peerShareSeen.delete(shareId);
      if (!this.#hub.has(shareId)) {
        this.#drops.add(ProxyDrop.PoolExhausted);
        this.#refused('peer_share_refused', { shareId, session, peer: peerKey, reason: 'pool_exhausted' });
      }
      return;
    }
    this.#logger.info('peer_share_started', { shareId, session, peer: peerKey, origin: `${address}:${port}`,
      ...(f.address !== undefined && f.address !== address ? { announcedAddress: f.address } : {}), clientPort: share.clientPort });
    this.#announceShare(share);
  }

  /**
   * SPEC §14: TCP to a peer (share proxy, file relay) goes to the peer's configured address (its
   * REFLECTOR_INTERCONNECTION line) with the announced PORT; the announced ADDRESS is informational, so
   * NAT between the reflectors needs no setting and a peer cannot aim our connections at a third host.
   */
  #peerTcpAddress(peerKey: string): string | undefined {
    const address = this.#link?.peerAddress(peerKey);
    if (address === undefined) this.#drops.add(ProxyDrop.UnknownPeer);
    return address;
  }

  #onPeerShareEnd(peerKey: string, f: RflxFields): void {
    if (f.shareId === undefined) { this.#drops.add(ProxyDrop.BadPeerMessage); return; }
    const share = this.#hub.get(f.shareId);
    if (share === undefined) return;
    if (share.kind !== 'peer' || share.origin.peerKey !== peerKey) { this.#drops.add(ProxyDrop.PeerIdTaken); return; }
    share.end('peer_end');
  }

  #onPeerFileAnnounce(peerKey: string, f: RflxFields): void {
    const { session, fileId, port, passkey, size, sha256 } = f;
    if (session === undefined || fileId === undefined || port === undefined || port === 0 ||
        passkey === undefined || passkey.length !== PASSKEY_BYTES || size === undefined || sha256 === undefined ||
        sha256.length !== 32 || !isValidSessionName(session) || !textsFit(f.name, f.sender)) {
      this.#drops.add(ProxyDrop.BadPeerMessage);
      return;
    }
    const known = this.#spool.get(fileId);
    if (known !== undefined) {
      if (known.origin?.peerKey !== peerKey) this.#drops.add(ProxyDrop.PeerIdTaken);
      return;
    }
    if (!this.#sessionAlive(session)) { this.#drops.add(ProxyDrop.PeerNoSession); return; }
    if (this.#spool.countFromPeer(peerKey) >= MAX_PEER_FILES_PER_PEER) {
      this.#drops.add(ProxyDrop.PeerFileRefused);
      return;
    }
    if (size > BigInt(this.#spool.maxBytes)) {
      this.#drops.add(ProxyDrop.PeerFileRefused);
      this.#refused('peer_file_refused', { fileId, session, peer: peerKey, size, reason: 'larger than FILE_MAX_BYTES' });
      return;
    }
    const address = this.#peerTcpAddress(peerKey);
    if (address === undefined) return;
    const entry = this.#spool.addRemote(
      { id: fileId, passkey, session, name: f.name ?? '', size: Number(size), sha256, sender: f.sender ?? '' },
      { peerKey, address, port },
    );
    if (entry === null) { this.#drops.add(ProxyDrop.PeerFileRefused); return; }
    this.#logger.info('peer_file_announced', { fileId, session, peer: peerKey, origin: `${address}:${port}`,
      ...(f.address !== undefined && f.address !== address ? { announcedAddress: f.address } : {}), size: entry.size });
    this.#toParticipants(session, msg.fileAnnounce(entry, this.#fileEndpoint()));
    this.#announceFileToPeers(entry);
  }
}
