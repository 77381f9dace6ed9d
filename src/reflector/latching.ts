/**
 * Latching (SPEC §5): binding a source address to a stream's flow, unlatching the
 * sources HOSTS_DENY refuses after a reload, refusing our own sockets as sources,
 * and the 'rtcp-latched' event; plus the SDES names read from a participant's RTCP.
 * The rules that pick the stream for an unlatched source are in attribution.ts.
 */
import { allowedDestination } from './destination.js';
import type { CoreState } from './core-state.js';
import { formatEndpoint, normalizeIp } from './ip-key.js';
import { MEDIUM_AUDIO } from './media-kind.js';
import type { ParticipantState, StreamState } from './participant.js';
import type { RtcpInspection } from './rtcp-inspector.js';
import type { SessionState } from './session.js';

function isWildcardListen(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export class Latching {
  readonly #st: CoreState;

  constructor(st: CoreState) {
    this.#st = st;
  }

  /**
   * True for a source that is one of our own UDP ports on one of our addresses: a c= line
   * naming the reflector itself must never make it latch (and so feed) its own sockets.
   */
  isOwnSocket(ip: string, port: number): boolean {
    const c = this.#st.config;
    const own =
      (port >= c.audioPort && port <= c.audioPort + 1) ||
      (port >= c.videoPort && port <= c.videoPort + 1) ||
      (port >= c.keepalivePorts.first && port <= c.keepalivePorts.last);
    if (!own) return false;
    const n = normalizeIp(ip);
    if (n === normalizeIp(c.listenAddress) || n === normalizeIp(c.publicAddress)) return true;
    return isWildcardListen(c.listenAddress) && (n === '127.0.0.1' || n === '::1');
  }

  /** Binds `ip:port` of `flow` to `stream` (it may take the source from another stream). */
  latch(stream: StreamState, flow: number, ip: string, port: number): void {
    const st = this.#st;
    const p = stream.participant;
    const before = this.audioRtcpKey(p);
    const lost = st.attr.latch(stream, flow, ip, port);
    st.rebuildTargets(p.session);
    if (lost !== null && lost.participant.session !== p.session) st.rebuildTargets(lost.participant.session);
    st.log.debug('source_latched', { id: p.id, session: p.session.name, flow, source: formatEndpoint(ip, port) });
    this.emitIfRtcpMoved(p, before);
  }

  /** After a reload: sources that HOSTS_DENY now refuses are unlatched (their media is dropped). */
  unlatchDenied(): void {
    const st = this.#st;
    const touched = new Set<SessionState>();
    for (const p of st.participants.values()) {
      let changed = false;
      for (const s of p.streams) {
        if (s === null) continue;
        for (const rtcp of [0, 1] as const) {
          const ip = s.latchedIp[rtcp];
          if (ip === null || st.hosts.allowed(ip)) continue;
          changed = true;
        }
      }
      if (!changed) continue;
      st.attr.remove(p);
      for (const s of p.streams) {
        if (s === null) continue;
        for (const rtcp of [0, 1] as const) {
          const ip = s.latchedIp[rtcp];
          if (ip === null || st.hosts.allowed(ip)) continue;
          s.latchedIp[rtcp] = null;
          s.latchedPort[rtcp] = 0;
          p.confirmedIps.delete(normalizeIp(ip));
        }
      }
      st.attr.add(p);
      touched.add(p.session);
    }
    for (const session of touched) st.rebuildTargets(session);
  }

  /** Where RFLX announcements to `p` would go now ('' = nowhere yet). */
  audioRtcpKey(p: ParticipantState): string {
    const s = p.streams[MEDIUM_AUDIO];
    if (s === null) return '';
    const d = allowedDestination(s, 1);
    return d === null ? '' : `${d.address}|${d.port}`;
  }

  /** 'rtcp-latched' fires when the participant's audio RTCP destination appears or changes. */
  emitIfRtcpMoved(p: ParticipantState, before: string): void {
    const after = this.audioRtcpKey(p);
    if (after !== '' && after !== before) this.#st.emit('rtcp-latched', p.id, p.session.name);
  }
}

/** CNAME/NAME are decoded only when their bytes changed (SDES repeats every few seconds). */
export function readSdes(p: ParticipantState, buf: Buffer, insp: RtcpInspection): void {
  if (insp.cnameLength >= 0) {
    const bytes = buf.subarray(insp.cnameOffset, insp.cnameOffset + insp.cnameLength);
    if (p.cnameBytes === undefined || !p.cnameBytes.equals(bytes)) {
      p.cnameBytes = Buffer.from(bytes);
      p.cname = bytes.toString('utf8');
    }
  }
  if (insp.nameLength >= 0) {
    const bytes = buf.subarray(insp.nameOffset, insp.nameOffset + insp.nameLength);
    if (p.nameBytes === undefined || !p.nameBytes.equals(bytes)) {
      p.nameBytes = Buffer.from(bytes);
      p.sdesName = bytes.toString('utf8');
    }
  }
}
