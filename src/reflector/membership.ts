/**
 * Membership (SPEC §5): admission, join, update (re-INVITE), confirmed addresses,
 * leave, and the liveness expiry. Every change of who is in a session goes through
 * one of the named methods here, which keep the source index (attribution.ts), the
 * ICE credentials and the session's recipient lists in step.
 */
import { randomBytes } from 'node:crypto';
import {
  AdmissionError,
  type CodecMapping,
  type JoinRequest,
  type LeaveReason,
  type Medium,
  type SessionCodec,
  type StreamSpec,
} from './api.js';
import { snapshotParticipant } from './core-observation.js';
import type { CoreState } from './core-state.js';
import { formatEndpoint, normalizeIp } from './ip-key.js';
import type { Latching } from './latching.js';
import { MEDIUM_AUDIO, mediumIndex } from './media-kind.js';
import { ParticipantState, StreamState } from './participant.js';
import { SessionState } from './session.js';

function describeStreams(streams: readonly StreamSpec[]): string[] {
  return streams.map((s) => `${s.medium} ${formatEndpoint(s.address, s.rtpPort)} ${s.direction}`);
}

export class Membership {
  readonly #st: CoreState;
  readonly #latching: Latching;

  constructor(st: CoreState, latching: Latching) {
    this.#st = st;
    this.#latching = latching;
  }

  sessionCodecs(session: string, medium: Medium): readonly SessionCodec[] {
    const s = this.#st.sessions.get(session);
    return s === undefined ? [] : s.codecs[mediumIndex(medium)].slice();
  }

  checkAdmission(session: string): void {
    const st = this.#st;
    const c = st.config;
    const s = st.sessions.get(session);
    if (s !== undefined && s.participants.size >= c.maxParticipantsPerSession) {
      throw new AdmissionError('session_full', `session has ${s.participants.size} participants (limit ${c.maxParticipantsPerSession})`);
    }
    if (st.participants.size >= c.maxParticipants) {
      throw new AdmissionError('server_full', `server has ${st.participants.size} participants (limit ${c.maxParticipants})`);
    }
    if (s === undefined && st.sessions.size >= c.maxSessions) {
      throw new AdmissionError('too_many_sessions', `server has ${st.sessions.size} sessions (limit ${c.maxSessions})`);
    }
  }

  join(req: JoinRequest): string {
    const st = this.#st;
    this.checkAdmission(req.session);
    const now = Date.now();
    let session = st.sessions.get(req.session);
    const created = session === undefined;
    if (session === undefined) {
      session = new SessionState(req.session, now);
      st.sessions.set(req.session, session);
    }
    const id = this.#newId();
    const init: { user?: string; label?: string; mode: typeof req.mode; signalingAddress: string; now: number } = {
      mode: req.mode,
      signalingAddress: req.signalingAddress,
      now,
    };
    if (req.user !== undefined) init.user = req.user;
    if (req.label !== undefined) init.label = req.label;
    const p = new ParticipantState(id, session, init);
    if (req.displayName !== undefined) p.displayName = req.displayName;
    this.#applyStreams(p, req.streams);
    session.participants.set(id, p);
    st.participants.set(id, p);
    st.attr.add(p);
    st.ice.add(p);
    st.rebuildTargets(session);
    if (created) st.emit('session-created', session.name);
    st.log.info('participant_joined', {
      id,
      session: session.name,
      user: req.user,
      displayName: req.displayName,
      label: req.label,
      mode: req.mode,
      signalingAddress: req.signalingAddress,
      streams: describeStreams(req.streams),
    });
    st.emit('participant-joined', snapshotParticipant(p));
    return id;
  }

  update(id: string, streams: readonly StreamSpec[]): void {
    const st = this.#st;
    const p = st.participants.get(id);
    if (p === undefined) return;
    const before = this.#latching.audioRtcpKey(p);
    st.attr.remove(p);
    st.ice.remove(p);
    this.#applyStreams(p, streams);
    st.attr.add(p);
    st.ice.add(p);
    st.rebuildTargets(p.session);
    st.log.info('participant_updated', { id, session: p.session.name, streams: describeStreams(streams) });
    this.#latching.emitIfRtcpMoved(p, before);
    st.emit('participant-updated', snapshotParticipant(p));
  }

  confirmAddress(id: string, ip: string): void {
    const st = this.#st;
    const p = st.participants.get(id);
    if (p === undefined) return;
    const n = normalizeIp(ip);
    if (p.confirmedIps.has(n)) return;
    const before = this.#latching.audioRtcpKey(p);
    p.confirmedIps.add(n);
    st.rebuildTargets(p.session);
    this.#latching.emitIfRtcpMoved(p, before);
  }

  leave(id: string, reason: LeaveReason): void {
    const st = this.#st;
    const p = st.participants.get(id);
    if (p === undefined || p.removed) return;
    p.removed = true;
    st.fan?.forget(p);
    st.attr.remove(p);
    st.ice.remove(p);
    st.participants.delete(id);
    const session = p.session;
    session.participants.delete(id);
    st.rebuildTargets(session);
    st.log.info('participant_left', {
      id,
      session: session.name,
      reason,
      durationS: Math.round((Date.now() - p.joinedAt) / 1000),
      quality: p.streams[MEDIUM_AUDIO]?.quality.snapshot(),
    });
    st.emit('participant-removed', id, session.name, reason);
    if (session.participants.size === 0 && st.sessions.get(session.name) === session) {
      st.sessions.delete(session.name);
      st.fan?.removeSession(session.name);
      st.emit('session-empty', session.name);
    }
  }

  /** Every participant leaves (close()). */
  leaveAll(reason: LeaveReason): void {
    for (const id of [...this.#st.participants.keys()]) this.leave(id, reason);
  }

  /** Liveness (SPEC §5): participants with no activity for the inactivity timeout leave. */
  expireInactive(): void {
    const st = this.#st;
    st.pollFanout(); // activity the fan-out table saw
    const now = Date.now();
    const timeoutMs = st.config.inactivityTimeoutS * 1000;
    const expired: string[] = [];
    for (const p of st.participants.values()) {
      if (now - p.lastActivityAt >= timeoutMs) expired.push(p.id);
    }
    for (const id of expired) {
      try {
        this.leave(id, 'timeout');
      } catch (err) {
        st.internalError(err);
      }
    }
  }

  has(id: string): boolean {
    return this.#st.participants.has(id);
  }

  /**
   * A participant's negotiated codecs for a medium, with its own PT numbers
   * (the mixer encodes each participant's mix with these). Not in api.ts: an
   * addition the mixer probes for.
   */
  participantCodecs(participantId: string, medium: Medium): readonly CodecMapping[] | undefined {
    const p = this.#st.participants.get(participantId);
    if (p === undefined) return undefined;
    const s = p.streams[mediumIndex(medium)];
    return s === null ? [] : s.spec.codecs;
  }

  #applyStreams(p: ParticipantState, streams: readonly StreamSpec[]): void {
    const udp6 = this.#st.udp6;
    const seen = [false, false];
    for (const spec of streams) {
      const m = mediumIndex(spec.medium);
      if (seen[m]) continue; // one stream per medium; later duplicates are ignored
      seen[m] = true;
      const existing = p.streams[m];
      if (existing === null) p.streams[m] = new StreamState(p, spec, udp6);
      else existing.apply(spec, udp6);
      p.session.registerCodecs(spec.medium, spec.codecs);
    }
    for (let m = 0; m < 2; m++) {
      const s = p.streams[m];
      // A medium missing from a re-INVITE is disabled (latches dropped), its counters kept.
      if (!seen[m] && s !== null) s.apply({ ...s.spec, rtpPort: 0 }, udp6);
    }
  }

  #newId(): string {
    for (let i = 0; i < 16; i++) {
      const id = randomBytes(4).toString('hex');
      if (!this.#st.participants.has(id)) return id;
    }
    return randomBytes(8).toString('hex');
  }
}
