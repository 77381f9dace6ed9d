/**
 * Announcements (SPEC §7 subtypes 3, 4, 7 to participants; 18, 19, 20 to peers): a share that goes
 * live or ends and a file that is ready, to the participants of its session and to every peer with
 * participants in it, once per peer (split horizon: never back to the peer it came from).
 */
import { RflxSubtype, type RflxFields } from '../rtp/rflx-types.js';
import * as msg from './announcer.js';
import type { FileEntry } from './file-types.js';
import type { ProxyContext } from './proxy-context.js';
import type { Share } from './share-hub.js';

/** Shares and files announced to participants and peers (see the file comment). */
export class ProxyAnnouncements {
  readonly #c: ProxyContext;

  constructor(c: ProxyContext) {
    this.#c = c;
  }

  toParticipants(session: string, packet: Buffer): void {
    const core = this.#c.core;
    for (const id of core.participantIds(session)) core.sendTo(id, 'audio', true, packet);
  }

  /** Sends a peer message to every peer with participants in the session except `except`, once per peer. */
  #toPeers(session: string, subtype: number, fields: RflxFields, sent: Set<string>, except: string | null): void {
    const link = this.#c.link;
    if (link === null) return;
    for (const peer of link.peersWithParticipants(session)) {
      if (peer === except || sent.has(peer)) continue;
      sent.add(peer);
      link.sendRflx(peer, subtype, { session, ...fields });
    }
  }

  #shareEndpoint(share: Share): msg.Endpoint {
    return { address: this.#c.here, port: share.clientPort };
  }

  announceShare(share: Share): void {
    const ep = this.#shareEndpoint(share);
    this.#c.announced.add(share.info.id);
    this.toParticipants(share.info.session, msg.shareAnnounce(share.info, ep));
    this.announceShareToPeers(share);
  }

  announceShareToPeers(share: Share): void {
    const sharePeers = this.#c.sharePeers;
    let sent = sharePeers.get(share.info.id);
    if (sent === undefined) { sent = new Set(); sharePeers.set(share.info.id, sent); }
    const from = share.kind === 'peer' ? share.origin.peerKey : null;
    this.#toPeers(share.info.session, RflxSubtype.PeerShareAnnounce, msg.shareAnnounceFields(share.info, this.#shareEndpoint(share)), sent, from);
  }

  onShareLive(id: number): void {
    const share = this.#c.hub.get(id);
    if (share === undefined) return;
    this.#c.logger.info('share_started', { shareId: id, session: share.info.session, sharer: share.info.sharer });
    this.announceShare(share);
  }

  onShareEnded(share: Share, reason: string): void {
    const c = this.#c;
    const id = share.info.id;
    c.peerShareSeen.delete(id);
    c.shareOwner.delete(id);
    c.logger.info('share_ended', { shareId: id, session: share.info.session, origin: share.kind, reason });
    if (c.announced.delete(id)) this.toParticipants(share.info.session, msg.shareEnd(id));
    const peers = c.sharePeers.get(id);
    c.sharePeers.delete(id);
    const link = c.link;
    if (peers !== undefined && link !== null) {
      for (const peer of peers) link.sendRflx(peer, RflxSubtype.PeerShareEnd, { session: share.info.session, shareId: id });
    }
  }

  fileEndpoint(): msg.Endpoint {
    return { address: this.#c.here, port: this.#c.files.port };
  }

  announceFileToPeers(entry: FileEntry): void {
    const filePeers = this.#c.filePeers;
    let sent = filePeers.get(entry.id);
    if (sent === undefined) { sent = new Set(); filePeers.set(entry.id, sent); }
    const from = entry.origin?.peerKey ?? null;
    this.#toPeers(entry.session, RflxSubtype.PeerFileAnnounce, msg.fileAnnounceFields(entry, this.fileEndpoint()), sent, from);
  }

  onFileReady(entry: FileEntry): void {
    this.#c.logger.info('file_uploaded', { fileId: entry.id, session: entry.session, sender: entry.sender, size: entry.size });
    this.toParticipants(entry.session, msg.fileAnnounce(entry, this.fileEndpoint()));
    this.announceFileToPeers(entry);
  }

  /** SPEC §7: a participant whose RTCP address latches gets every share and file still available. */
  onRtcpLatched(participantId: string, session: string): void {
    const c = this.#c;
    for (const share of c.hub.list()) {
      if (share.info.session !== session || !c.announced.has(share.info.id)) continue;
      c.core.sendTo(participantId, 'audio', true, msg.shareAnnounce(share.info, this.#shareEndpoint(share)));
    }
    for (const entry of c.spool.available(session)) {
      c.core.sendTo(participantId, 'audio', true, msg.fileAnnounce(entry, this.fileEndpoint()));
    }
  }
}
