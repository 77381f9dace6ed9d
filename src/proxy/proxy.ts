/**
 * Application sharing and file transfer (SPEC §7 subtypes 1–8 and 18–20, §8, §9):
 * the thin RFLX layer over the TCP parts.
 *
 *   participant ──RFLX 1/5 (audio RTCP port)──▶ core ──onParticipantRflx──▶ Proxy ──▶ ShareHub / FileSpool
 *   Proxy ──RFLX 2/6/8 answers, 3/4/7 announcements──▶ core.sendTo(participant, audio, rtcp)
 *   Proxy ◀──peer-rflx 18/19/20── interconnect ◀──▶ peers; Proxy ──sendRflx 18/19/20──▶ peers
 *
 * ProxyImpl composes the parts over one shared ProxyContext (proxy-context.ts): requests from
 * participants (proxy-requests.ts), announcements (proxy-announce.ts) and peers (proxy-peers.ts).
 * TCP: share ports (share-hub.ts, local-share.ts, remote-share.ts) and
 * FILE_TRANSFER_PORT (file-server.ts, file-spool.ts, file-fetch.ts).
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/types.js';
import type { InterconnectLink } from '../interconnect/api.js';
import type { ReflectorCore } from '../reflector/api.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import type { EventMap, TypedEmitter } from '../runtime/typed-emitter.js';
import { sourceKey } from '../runtime/tcp-admission.js';
import { AnswerCache } from './answer-cache.js';
import { FileServer } from './file-server.js';
import { FileSpool } from './file-spool.js';
import type { FileSnapshot, FileTunables } from './file-types.js';
import { ProxyAnnouncements } from './proxy-announce.js';
import { PEER_ANNOUNCE_REFRESH_MS, ProxyContext, REFUSAL_LOG_INTERVAL_MS } from './proxy-context.js';
import { ProxyPeers } from './proxy-peers.js';
import { ProxyRequests } from './proxy-requests.js';
import { ShareHub } from './share-hub.js';
import type { ShareSnapshot, ShareTunables } from './share-types.js';

export type { FileSnapshot } from './file-types.js';
export type { ShareSnapshot } from './share-types.js';
export {
  MAX_FILES_PER_PARTICIPANT,
  MAX_PEER_FILES_PER_PEER,
  MAX_PENDING_FILES_PER_PARTICIPANT,
  MAX_SHARES_PER_PARTICIPANT,
  PEER_ANNOUNCE_REFRESH_MS,
  PEER_SHARE_MISSED_REFRESHES,
  ProxyDrop,
  TEXT_MAX_BYTES,
} from './proxy-context.js';

export interface ProxyOptions {
  readonly share?: Partial<ShareTunables>;
  readonly file?: Partial<FileTunables>;
  /** How long the answer to a REQUEST_ID is kept for retransmissions. */
  readonly answerCacheMs?: number;
  /** How often shares and files are announced again to peers with participants (lost datagrams). */
  readonly peerRefreshMs?: number;
}

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

const ANSWER_CACHE_MS = 60_000;
/** How stale the known-sources set of TCP admission may be (a latch or a leave refreshes it at once). */
const KNOWN_REFRESH_MS = 1_000;

/** "ip:port" or "[v6]:port" → ip. */
function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const colon = endpoint.lastIndexOf(':');
  return colon < 0 ? endpoint : endpoint.slice(0, colon);
}

function spoolOptions(config: Config, file: Partial<FileTunables> | undefined): { dir: string; maxBytes: number; ttlMs: number } {
  return { dir: config.fileSpoolDir, maxBytes: config.fileMaxBytes, ttlMs: file?.ttlMs ?? config.fileTtlS * 1000 };
}

/** The proxy: the RFLX layer over the share hub and the file spool (see the file comment). */
export class ProxyImpl implements Proxy {
  readonly #c: ProxyContext;
  readonly #requests: ProxyRequests;
  readonly #announce: ProxyAnnouncements;
  readonly #peers: ProxyPeers;
  readonly #core: ReflectorCore;
  readonly #link: InterconnectLink | null;
  readonly #logger: Logger;
  readonly #hub: ShareHub;
  readonly #spool: FileSpool;
  readonly #files: FileServer;
  readonly #fileTtlOverride: number | undefined;
  #peerRefresh: NodeJS.Timeout | null = null;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(deps: ProxyDeps) {
    const o = deps.options ?? {};
    const refusals = new RateLimitedLog(deps.logger, REFUSAL_LOG_INTERVAL_MS);
    const known = (ip: string): boolean => this.#isKnown(ip);
    const spool = new FileSpool(spoolOptions(deps.config, o.file));
    this.#c = new ProxyContext({
      config: deps.config,
      core: deps.core,
      link: deps.interconnect,
      logger: deps.logger,
      refusals,
      answers: new AnswerCache(o.answerCacheMs ?? ANSWER_CACHE_MS),
      hub: new ShareHub({
        host: deps.config.listenAddress,
        serverPorts: deps.config.appshareServerPorts,
        clientPorts: deps.config.appshareClientPorts,
        tunables: o.share,
        known,
        refusalLog: refusals,
      }),
      spool,
      files: new FileServer(spool, {
        host: deps.config.listenAddress, port: deps.config.fileTransferPort, tunables: o.file, known, refusalLog: refusals,
      }),
      peerRefreshMs: o.peerRefreshMs ?? PEER_ANNOUNCE_REFRESH_MS,
    });
    this.#core = this.#c.core;
    this.#link = this.#c.link;
    this.#logger = this.#c.logger;
    this.#hub = this.#c.hub;
    this.#spool = this.#c.spool;
    this.#files = this.#c.files;
    this.#fileTtlOverride = o.file?.ttlMs;
    this.#requests = new ProxyRequests(this.#c);
    this.#announce = new ProxyAnnouncements(this.#c);
    this.#peers = new ProxyPeers(this.#c, this.#announce);
  }

  /** Source IPs of participants (SDP and latched addresses) and configured peers; rebuilt at most once a second. */
  #known: Set<string> | null = null;
  #knownAt = 0;

  /** TCP admission prefers these sources (tcp-admission.ts). */
  #isKnown(ip: string): boolean {
    const now = Date.now();
    if (this.#known === null || now - this.#knownAt > KNOWN_REFRESH_MS) {
      const set = new Set<string>();
      for (const p of this.#c.config.peers) set.add(sourceKey(p.address));
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

  // ─── Component ──────────────────────────────────────────────────────────

  async start(): Promise<void> {
    const c = this.#c;
    if (c.state !== 'new') return;
    try {
      // A missing spool directory would otherwise make every FILE_REQUEST look like a full spool (507).
      await mkdir(this.#spool.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.#logger.error('spool_unavailable', { spool: this.#spool.dir, error: err instanceof Error ? err.message : String(err) });
    }
    const swept = await this.#spool.sweepStale();
    if (swept > 0) this.#logger.info('spool_swept', { spool: this.#spool.dir, files: swept, note: 'left behind by a reflector process that no longer runs' });
    await this.#files.listen();
    c.state = 'running';
    this.#core.setRflxHandler({ onParticipantRflx: (id, session, app) => this.#guard(() => this.#requests.onParticipantRflx(id, session, app)) });
    this.#on(this.#hub.events, 'share-live', (share) => this.#guard(() => this.#announce.onShareLive(share.info.id)));
    this.#on(this.#hub.events, 'share-ended', (share, reason) => this.#guard(() => this.#announce.onShareEnded(share, reason)));
    this.#on(this.#hub.events, 'viewer-dropped', (shareId, viewer) => {
      this.#logger.info('share_viewer_dropped', { shareId, viewer, reason: 'slow', note: 'the viewer fell more than the per-viewer buffer behind the sharer' });
    });
    this.#on(this.#spool.events, 'file-ready', (entry) => this.#guard(() => this.#announce.onFileReady(entry)));
    this.#on(this.#spool.events, 'file-removed', (entry, reason) => this.#guard(() => {
      c.filePeers.delete(entry.id);
      c.fileOwner.delete(entry.id);
      this.#logger.info('file_removed', { fileId: entry.id, session: entry.session, reason });
    }));
    this.#on(this.#core.events, 'rtcp-latched', (id, session) => this.#guard(() => { this.#known = null; this.#announce.onRtcpLatched(id, session); }));
    this.#on(this.#core.events, 'session-empty', (session) => this.#guard(() => this.#peers.maybeEndSession(session)));
    this.#on(this.#core.events, 'participant-removed', (id) => { this.#known = null; c.answers.forgetParticipant(id); });
    const link = this.#link;
    if (link !== null) {
      this.#on(link.events, 'peer-rflx', (peerKey, m) => this.#guard(() => this.#peers.onPeerRflx(peerKey, m)));
      this.#on(link.events, 'remote-count', (session, peerKey, count) => this.#guard(() => this.#peers.onRemoteCount(session, peerKey, count)));
      // The restarted peer's files went with its old process (its spool is swept at start): forget them.
      this.#on(link.events, 'peer-restarted', (peerKey) => this.#guard(() => this.#spool.removePeer(peerKey, 'peer_restarted')));
      this.#peerRefresh = setInterval(() => this.#guard(() => this.#peers.refresh()), c.peerRefreshMs);
      this.#peerRefresh.unref();
    }
    this.#logger.info('proxy_started', {
      fileTransferPort: this.#files.port,
      serverPorts: `${c.config.appshareServerPorts.first}-${c.config.appshareServerPorts.last}`,
      clientPorts: `${c.config.appshareClientPorts.first}-${c.config.appshareClientPorts.last}`,
      spool: c.config.fileSpoolDir,
    });
  }

  reload(config: Config): void {
    const before = this.#c.config;
    this.#c.config = config;
    this.#hub.reconfigure({ serverPorts: config.appshareServerPorts, clientPorts: config.appshareClientPorts });
    this.#spool.reconfigure({ ...spoolOptions(config, undefined), ttlMs: this.#fileTtlOverride ?? config.fileTtlS * 1000 });
    if (before.fileTransferPort !== config.fileTransferPort || before.listenAddress !== config.listenAddress) {
      this.#logger.warn('proxy_restart_needed', { note: 'FILE_TRANSFER_PORT and LISTEN_ADDRESS apply after a restart' });
    }
  }

  async close(): Promise<void> {
    const c = this.#c;
    if (c.state === 'closed') return;
    const wasRunning = c.state === 'running';
    c.state = 'closed';
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
      requests: this.#requests.count,
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
      ...this.#c.drops.snapshot(),
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
      this.#c.internalError(err);
    }
  }
}
