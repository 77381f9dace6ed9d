/**
 * Requests from participants (SPEC §7 subtypes 1, 5 → 2, 6, 8): SHARE_REQUEST and FILE_REQUEST
 * arrive as RTCP APP RFLX on the audio RTCP port; the answer (a grant or an error) is cached per
 * REQUEST_ID, so a retransmitted request gets the same answer.
 */
import { parseRflx } from '../rtp/rflx.js';
import { RflxErrorCode, RflxSubtype, type RflxFields } from '../rtp/rflx-types.js';
import { AnswerCache } from './answer-cache.js';
import * as msg from './announcer.js';
import { newId, newPasskey } from './passkey.js';
import {
  MAX_FILES_PER_PARTICIPANT,
  MAX_PENDING_FILES_PER_PARTICIPANT,
  MAX_SHARES_PER_PARTICIPANT,
  ProxyDrop,
  textsFit,
  type ProxyContext,
} from './proxy-context.js';

function countOwned(owners: ReadonlyMap<number, string>, participantId: string): number {
  let n = 0;
  for (const owner of owners.values()) if (owner === participantId) n++;
  return n;
}

/** Participants' share and file requests (see the file comment). */
export class ProxyRequests {
  readonly #c: ProxyContext;
  #requests = 0;

  constructor(c: ProxyContext) {
    this.#c = c;
  }

  /** Requests answered (not counting retransmissions). */
  get count(): number { return this.#requests; }

  onParticipantRflx(participantId: string, session: string, app: Buffer): void {
    const c = this.#c;
    if (c.state !== 'running') return;
    const m = parseRflx(app, 0, app.length);
    if (typeof m === 'string') { c.drops.add(m); return; }
    if (m.subtype !== RflxSubtype.ShareRequest && m.subtype !== RflxSubtype.FileRequest) {
      c.drops.add(ProxyDrop.UnexpectedSubtype);
      return;
    }
    const requestId = m.fields.requestId;
    if (requestId === undefined) { c.drops.add(ProxyDrop.MissingRequestId); return; }
    const key = AnswerCache.key(participantId, requestId);
    const now = Date.now();
    const cached = c.answers.lookup(key, now);
    if (cached === null) return; // being prepared; the answer goes out when ready
    if (cached !== undefined) { c.core.sendTo(participantId, 'audio', true, cached); return; }
    this.#requests++;
    c.answers.begin(key, now);
    const answer = m.subtype === RflxSubtype.ShareRequest
      ? this.#shareRequest(participantId, session, requestId, m.fields)
      : this.#fileRequest(participantId, session, requestId, m.fields);
    void answer.then(
      (buf) => {
        c.answers.complete(key, buf);
        if (c.state === 'running') c.core.sendTo(participantId, 'audio', true, buf);
      },
      (err: unknown) => {
        c.internalError(err);
        const buf = msg.errorAnswer(requestId, RflxErrorCode.Internal, 'internal error');
        c.answers.complete(key, buf);
        if (c.state === 'running') c.core.sendTo(participantId, 'audio', true, buf);
      },
    );
  }

  #participantName(participantId: string, session: string): string {
    for (const s of this.#c.core.snapshot()) {
      if (s.name !== session) continue;
      const p = s.participants.find((x) => x.id === participantId);
      if (p !== undefined) return p.displayName ?? p.user ?? p.sdesName ?? p.cname ?? participantId;
    }
    return participantId;
  }

  async #shareRequest(participantId: string, session: string, requestId: number, f: RflxFields): Promise<Buffer> {
    const c = this.#c;
    const title = f.title ?? '';
    if (!textsFit(title)) {
      c.drops.add(ProxyDrop.BadRequest);
      return msg.errorAnswer(requestId, RflxErrorCode.BadRequest, 'title too long');
    }
    if (countOwned(c.shareOwner, participantId) >= MAX_SHARES_PER_PARTICIPANT) {
      c.drops.add(ProxyDrop.ParticipantLimit);
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, `at most ${MAX_SHARES_PER_PARTICIPANT} shares per participant`);
    }
    const id = newId((n) => c.hub.has(n));
    const info = { id, session, title, sharer: this.#participantName(participantId, session), passkey: newPasskey() };
    const share = await c.hub.createLocal(info);
    if (share === null) {
      c.drops.add(ProxyDrop.PoolExhausted);
      c.refused('share_refused', { session, participant: participantId, reason: 'pool_exhausted' });
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, 'no free application-sharing port');
    }
    c.shareOwner.set(id, participantId);
    c.logger.info('share_granted', { shareId: id, session, sharer: info.sharer, serverPort: share.serverPort, clientPort: share.clientPort });
    return msg.shareGrant(requestId, info, { address: c.here, port: share.serverPort });
  }

  async #fileRequest(participantId: string, session: string, requestId: number, f: RflxFields): Promise<Buffer> {
    const c = this.#c;
    const name = f.name ?? '';
    if (f.size === undefined || f.sha256 === undefined || f.sha256.length !== 32 || !textsFit(name)) {
      c.drops.add(ProxyDrop.BadRequest);
      return msg.errorAnswer(requestId, RflxErrorCode.BadRequest, 'FILE_REQUEST needs SIZE, SHA256 and a NAME of at most 255 bytes');
    }
    let pending = 0;
    let held = 0;
    for (const [id, owner] of c.fileOwner) {
      if (owner !== participantId) continue;
      held++;
      const state = c.spool.get(id)?.state;
      if (state === 'granted' || state === 'uploading') pending++;
    }
    if (pending >= MAX_PENDING_FILES_PER_PARTICIPANT) {
      c.drops.add(ProxyDrop.ParticipantLimit);
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, `at most ${MAX_PENDING_FILES_PER_PARTICIPANT} pending uploads per participant`);
    }
    if (held >= MAX_FILES_PER_PARTICIPANT) {
      c.drops.add(ProxyDrop.ParticipantLimit);
      return msg.errorAnswer(requestId, RflxErrorCode.PoolExhausted, `at most ${MAX_FILES_PER_PARTICIPANT} files per participant in the spool`);
    }
    const sender = this.#participantName(participantId, session);
    const g = await c.spool.grant({ session, name, size: f.size, sha256: f.sha256, sender });
    if (!g.ok) {
      c.drops.add(ProxyDrop.FileRefused);
      c.refused('file_refused', { session, participant: participantId, size: f.size, code: g.code, reason: g.reason });
      return msg.errorAnswer(requestId, g.code, g.reason);
    }
    c.fileOwner.set(g.entry.id, participantId);
    c.logger.info('file_granted', { fileId: g.entry.id, session, sender, size: g.entry.size });
    return msg.fileGrant(requestId, g.entry, { address: c.here, port: c.files.port });
  }
}
