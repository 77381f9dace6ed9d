/**
 * What monitoring reads from the reflector core (api.ts: snapshot, drops, counters):
 * plain copies built from the core's state, never references into it.
 */
import { SrtpDrop } from '../srtp/srtp-context.js';
import type { CallQuality, ParticipantSnapshot, SessionSnapshot } from './api.js';
import type { CoreState } from './core-state.js';
import { formatEndpoint, normalizeIp } from './ip-key.js';
import { MEDIUM_AUDIO } from './media-kind.js';
import type { ParticipantState } from './participant.js';
import type { TelephoneEventConverter } from './telephone-event.js';

function quality(p: ParticipantState): { quality?: CallQuality } {
  const q = p.streams[MEDIUM_AUDIO]?.quality.snapshot();
  return q === undefined ? {} : { quality: q };
}

export function snapshotSessions(st: CoreState): SessionSnapshot[] {
  const out: SessionSnapshot[] = [];
  for (const s of st.sessions.values()) {
    out.push({
      name: s.name,
      createdAt: s.createdAt,
      participants: [...s.participants.values()].map((p) => snapshotParticipant(p)),
      remoteCounts: {},
    });
  }
  return out;
}

export function snapshotParticipant(p: ParticipantState): ParticipantSnapshot {
  const streams: ParticipantSnapshot['streams'][number][] = [];
  for (const s of p.streams) {
    if (s === null) continue;
    const rtpSource = s.latchedIp[0] === null ? undefined : formatEndpoint(normalizeIp(s.latchedIp[0]), s.latchedPort[0]);
    const rtcpSource = s.latchedIp[1] === null ? undefined : formatEndpoint(normalizeIp(s.latchedIp[1]), s.latchedPort[1]);
    streams.push({
      medium: s.medium,
      sdpAddress: s.spec.address,
      sdpRtpPort: s.spec.rtpPort,
      ...(rtpSource === undefined ? {} : { rtpSource }),
      ...(rtcpSource === undefined ? {} : { rtcpSource }),
      direction: s.spec.direction,
      codecs: s.spec.codecs.map((c) => c.name),
      ...(s.srtp === null ? {} : { srtp: s.srtp.keys.suite }),
      counters: { ...s.counters },
    });
  }
  return {
    id: p.id,
    session: p.session.name,
    ...(p.user === undefined ? {} : { user: p.user }),
    ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
    ...(p.label === undefined ? {} : { label: p.label }),
    mode: p.mode,
    joinedAt: p.joinedAt,
    ...(p.lastRtcpAt === undefined ? {} : { lastRtcpAt: p.lastRtcpAt }),
    lastActivityAt: p.lastActivityAt,
    ...(p.cname === undefined ? {} : { cname: p.cname }),
    ...(p.sdesName === undefined ? {} : { sdesName: p.sdesName }),
    ...quality(p),
    streams,
  };
}

/** Drop counters by reason: the core's own, the codecs', SRTP's (always present) and the sockets'. */
export function coreDrops(st: CoreState, checkIpErrors: number): Record<string, number> {
  const out: Record<string, number> = { ...st.drops };
  // SRTP reasons (SPEC §15) are always present, so that a dashboard sees 0 before the first failure.
  for (const reason of Object.values(SrtpDrop)) out[reason] = 0;
  for (const [reason, n] of Object.entries(st.codecDrops.snapshot())) out[reason] = (out[reason] ?? 0) + n;
  out.send_error = st.sendErrors.sendErrors;
  out.socket_error = st.socketErrors + checkIpErrors;
  out.rx_truncated = st.batch.counters.rxTruncated;
  out.hook_error = st.hookErrors;
  return out;
}

/**
 * Datagrams handled in a special way, not dropped: RTCP consumed as RFLX requests; telephone-event
 * packets converted to another clock rate, and recipients that got none (no telephone-event negotiated).
 */
export function coreCounters(st: CoreState, te: TelephoneEventConverter): Record<string, number> {
  return {
    rflx_consumed: st.rflxConsumed,
    telephone_event_converted: te.converted,
    telephone_event_not_negotiated: te.notNegotiated,
  };
}
