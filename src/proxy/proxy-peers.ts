/**
 * Peers (SPEC §7 subtypes 18, 19, 20 in; session presence): shares and files a peer announces become
 * peer shares and peer files here, refreshed against lost datagrams; what a peer announced ends when
 * it has no one left in the session, and a session's shares and files end when nobody is in it here
 * nor at any peer (SPEC §9.4).
 */
import { isValidSessionName } from '../rtp/session-name.js';
import { RflxSubtype, type RflxFields, type RflxMessage } from '../rtp/rflx-types.js';
import * as msg from './announcer.js';
import { PASSKEY_BYTES } from './passkey.js';
import type { ProxyAnnouncements } from './proxy-announce.js';
import {
  MAX_PEER_FILES_PER_PEER,
  PEER_SHARE_MISSED_REFRESHES,
  ProxyDrop,
  textsFit,
  type ProxyContext,
} from './proxy-context.js';

/** Peers' announcements and session presence (see the file comment). */
export class ProxyPeers {
  readonly #c: ProxyContext;
  readonly #announce: ProxyAnnouncements;

  constructor(c: ProxyContext, announce: ProxyAnnouncements) {
    this.#c = c;
    this.#announce = announce;
  }

  /**
   * An announcement to a peer is one UDP datagram and the Internet loses some: every refresh interval,
   * each announced share and available file goes again to every peer with participants in its session
   * (split horizon kept). A peer that already knows the id ignores the repeat.
   */
  refresh(): void {
    const c = this.#c;
    const stale = Date.now() - PEER_SHARE_MISSED_REFRESHES * c.peerRefreshMs;
    for (const share of c.hub.list()) {
      if (share.kind === 'peer' && (c.peerShareSeen.get(share.info.id) ?? 0) < stale) share.end('peer_stale');
    }
    for (const share of c.hub.list()) {
      if (!c.announced.has(share.info.id)) continue;
      c.sharePeers.get(share.info.id)?.clear();
      this.#announce.announceShareToPeers(share);
    }
    for (const entry of c.spool.list()) {
      if (entry.origin === null && entry.state !== 'ready') continue;
      c.filePeers.get(entry.id)?.clear();
      this.#announce.announceFileToPeers(entry);
    }
  }

  onRemoteCount(session: string, peerKey: string, count: number): void {
    const c = this.#c;
    if (count > 0) {
      // A peer that now has participants gets what is available here (it may have joined late or restarted).
      for (const share of c.hub.list()) {
        if (share.info.session === session && c.announced.has(share.info.id)) this.#announce.announceShareToPeers(share);
      }
      for (const entry of c.spool.available(session)) this.#announce.announceFileToPeers(entry);
      return;
    }
    // The peer has no one left in the session: what it announced is over, and it must get announcements again later.
    for (const share of c.hub.list()) {
      if (share.info.session !== session) continue;
      if (share.kind === 'peer' && share.origin.peerKey === peerKey) share.end('peer_left');
      else c.sharePeers.get(share.info.id)?.delete(peerKey);
    }
    for (const entry of c.spool.list()) {
      if (entry.session === session) c.filePeers.get(entry.id)?.delete(peerKey);
    }
    this.maybeEndSession(session);
  }

  /** The session has participants here or at some peer. */
  #sessionAlive(session: string): boolean {
    return this.#c.core.participantIds(session).length > 0 || (this.#c.link?.remoteCount(session) ?? 0) > 0;
  }

  /** SPEC §9.4: files (and shares) go when the session no longer exists here nor at any peer. */
  maybeEndSession(session: string): void {
    if (this.#sessionAlive(session)) return;
    for (const share of this.#c.hub.list()) if (share.info.session === session) share.end('session_ended');
    this.#c.spool.removeSession(session, 'session_ended');
  }

  onPeerRflx(peerKey: string, m: RflxMessage): void {
    const c = this.#c;
    if (c.state !== 'running') return;
    switch (m.subtype) {
      case RflxSubtype.PeerShareAnnounce:
        // A listen that fails (an address gone at run time) must not become an unhandled rejection.
        this.#onPeerShareAnnounce(peerKey, m.fields).catch((err: unknown) => {
          c.drops.add(ProxyDrop.ListenFailed);
          c.internalError(err);
        });
        break;
      case RflxSubtype.PeerShareEnd: this.#onPeerShareEnd(peerKey, m.fields); break;
      case RflxSubtype.PeerFileAnnounce: this.#onPeerFileAnnounce(peerKey, m.fields); break;
      default: c.drops.add(ProxyDrop.UnexpectedSubtype);
    }
  }

  async #onPeerShareAnnounce(peerKey: string, f: RflxFields): Promise<void> {
    const c = this.#c;
    const { session, shareId, port, passkey } = f;
    if (session === undefined || shareId === undefined || port === undefined || port === 0 ||
        passkey === undefined || passkey.length !== PASSKEY_BYTES || !isValidSessionName(session) || !textsFit(f.title, f.sharer)) {
      c.drops.add(ProxyDrop.BadPeerMessage);
      return;
    }
    const known = c.hub.get(shareId);
    if (known !== undefined) {
      // A repeated announcement (refresh, or a loop in the topology) changes nothing but keeps the share alive.
      if (known.kind !== 'peer' || known.origin.peerKey !== peerKey) c.drops.add(ProxyDrop.PeerIdTaken);
      else c.peerShareSeen.set(shareId, Date.now());
      return;
    }
    // Nothing would ever end a share of a session nobody is in (no session-empty, no COUNT 0 to come).
    if (!this.#sessionAlive(session)) { c.drops.add(ProxyDrop.PeerNoSession); return; }
    const address = this.#peerTcpAddress(peerKey);
    if (address === undefined) return;
    const info = { id: shareId, session, title: f.title ?? '', sharer: f.sharer ?? '', passkey };
    c.peerShareSeen.set(shareId, Date.now()); // before the await: a refresh tick may run meanwhile
    const share = await c.hub.createRemote(info, { peerKey, address, port });
    if (share === null) {
      if (!c.hub.has(shareId)) c.peerShareSeen.delete(shareId);
      if (!c.hub.has(shareId)) {
        c.drops.add(ProxyDrop.PoolExhausted);
        c.refused('peer_share_refused', { shareId, session, peer: peerKey, reason: 'pool_exhausted' });
      }
      return;
    }
    c.logger.info('peer_share_started', { shareId, session, peer: peerKey, origin: `${address}:${port}`,
      ...(f.address !== undefined && f.address !== address ? { announcedAddress: f.address } : {}), clientPort: share.clientPort });
    this.#announce.announceShare(share);
  }

  /**
   * SPEC §14: TCP to a peer (share proxy, file relay) goes to the peer's configured address (its
   * REFLECTOR_INTERCONNECTION line) with the announced PORT; the announced ADDRESS is informational, so
   * NAT between the reflectors needs no setting and a peer cannot aim our connections at a third host.
   */
  #peerTcpAddress(peerKey: string): string | undefined {
    const address = this.#c.link?.peerAddress(peerKey);
    if (address === undefined) this.#c.drops.add(ProxyDrop.UnknownPeer);
    return address;
  }

  #onPeerShareEnd(peerKey: string, f: RflxFields): void {
    const c = this.#c;
    if (f.shareId === undefined) { c.drops.add(ProxyDrop.BadPeerMessage); return; }
    const share = c.hub.get(f.shareId);
    if (share === undefined) return;
    if (share.kind !== 'peer' || share.origin.peerKey !== peerKey) { c.drops.add(ProxyDrop.PeerIdTaken); return; }
    share.end('peer_end');
  }

  #onPeerFileAnnounce(peerKey: string, f: RflxFields): void {
    const c = this.#c;
    const { session, fileId, port, passkey, size, sha256 } = f;
    if (session === undefined || fileId === undefined || port === undefined || port === 0 ||
        passkey === undefined || passkey.length !== PASSKEY_BYTES || size === undefined || sha256 === undefined ||
        sha256.length !== 32 || !isValidSessionName(session) || !textsFit(f.name, f.sender)) {
      c.drops.add(ProxyDrop.BadPeerMessage);
      return;
    }
    const known = c.spool.get(fileId);
    if (known !== undefined) {
      if (known.origin?.peerKey !== peerKey) c.drops.add(ProxyDrop.PeerIdTaken);
      return;
    }
    if (!this.#sessionAlive(session)) { c.drops.add(ProxyDrop.PeerNoSession); return; }
    if (c.spool.countFromPeer(peerKey) >= MAX_PEER_FILES_PER_PEER) {
      c.drops.add(ProxyDrop.PeerFileRefused);
      return;
    }
    if (size > BigInt(c.spool.maxBytes)) {
      c.drops.add(ProxyDrop.PeerFileRefused);
      c.refused('peer_file_refused', { fileId, session, peer: peerKey, size, reason: 'larger than FILE_MAX_BYTES' });
      return;
    }
    const address = this.#peerTcpAddress(peerKey);
    if (address === undefined) return;
    const entry = c.spool.addRemote(
      { id: fileId, passkey, session, name: f.name ?? '', size: Number(size), sha256, sender: f.sender ?? '' },
      { peerKey, address, port },
    );
    if (entry === null) { c.drops.add(ProxyDrop.PeerFileRefused); return; }
    c.logger.info('peer_file_announced', { fileId, session, peer: peerKey, origin: `${address}:${port}`,
      ...(f.address !== undefined && f.address !== address ? { announcedAddress: f.address } : {}), size: entry.size });
    this.#announce.toParticipants(session, msg.fileAnnounce(entry, this.#announce.fileEndpoint()));
    this.#announce.announceFileToPeers(entry);
  }
}
