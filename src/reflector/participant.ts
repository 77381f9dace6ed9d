/**
 * A participant and its streams: the state the hot path reads (latched
 * sources, PT tables, counters) lives in plain preallocated fields.
 */
import { isIP } from 'node:net';
import type { AudioMode } from '../config/types.js';
import type { Direction, Medium, StreamCounters, StreamSpec } from './api.js';
import { normalizeIp } from './ip-key.js';
import { buildPtTables } from './pt-table.js';
import { StreamQuality } from './call-quality.js';
import { chooseTelephoneEvent, NO_TELEPHONE_EVENT, type TelephoneEventChoice } from './telephone-event.js';
import type { SessionState } from './session.js';
import { mediumIndex } from './media-kind.js';

/** SSRCs remembered per stream (announced plus learned); bounded against SSRC churn. */
export const MAX_KNOWN_SSRCS = 8;

export function newCounters(): StreamCounters {
  return {
    rtpPacketsIn: 0, rtpBytesIn: 0, rtcpPacketsIn: 0, rtcpBytesIn: 0,
    rtpPacketsOut: 0, rtpBytesOut: 0, rtcpPacketsOut: 0, rtcpBytesOut: 0,
  };
}

export class StreamState {
  readonly participant: ParticipantState;
  readonly medium: Medium;
  readonly mediumIndex: number;
  spec: StreamSpec;
  /** Normalised SDP IP (comparisons) and the form the socket family sends to ('' = unusable). */
  sdpIp = '';
  sdpSendIp = '';
  /** SDP ports by rtcp flag: [rtp, rtcp]; 0 = none. */
  readonly sdpPort: [number, number] = [0, 0];
  /** Latched source by rtcp flag, as Node reported it (socket form); null = not latched. */
  readonly latchedIp: [string | null, string | null] = [null, null];
  readonly latchedPort: [number, number] = [0, 0];
  enabled = false;
  receives = false;
  sends = false;
  inPt: Uint8Array = new Uint8Array(0);
  outPt: Uint8Array = new Uint8Array(0);
  /** The telephone-event converted events are sent to this participant in (RFC 4733; none = not delivered). */
  telephoneEvent: TelephoneEventChoice = NO_TELEPHONE_EVENT;
  /** Announced (a=ssrc) and learned SSRCs. */
  readonly knownSsrcs: number[] = [];
  /** The SSRC of the last RTP packet, so learning is one comparison per packet. */
  lastSsrc = -1;
  readonly counters: StreamCounters = newCounters();
  /** Loss, jitter, RTT and MOS of this stream (audio only is fed). */
  readonly quality = new StreamQuality();

  constructor(participant: ParticipantState, spec: StreamSpec, udp6: boolean) {
    this.participant = participant;
    this.medium = spec.medium;
    this.mediumIndex = mediumIndex(spec.medium);
    this.spec = spec;
    this.apply(spec, udp6);
  }

  /** Takes a (new) SDP description; latched sources and counters survive (re-INVITE). */
  apply(spec: StreamSpec, udp6: boolean): void {
    this.spec = spec;
    const ip = normalizeIp(spec.address);
    this.sdpIp = ip;
    // Only a literal IP is ever a destination (a name in c= is never resolved).
    const family = isIP(ip);
    this.sdpSendIp = family === 6 ? (udp6 ? ip : '') : family === 4 ? (udp6 ? `::ffff:${ip}` : ip) : '';
    this.enabled = spec.rtpPort > 0 && spec.rtpPort <= 65535 && spec.codecs.length > 0;
    this.sdpPort[0] = this.enabled ? spec.rtpPort : 0;
    this.sdpPort[1] = this.enabled && spec.rtcpPort > 0 && spec.rtcpPort <= 65535 ? spec.rtcpPort : 0;
    this.receives = this.enabled && receivesMedia(spec.direction);
    this.sends = this.enabled && sendsMedia(spec.direction);
    const t = buildPtTables(spec.codecs);
    this.inPt = t.inbound;
    this.outPt = t.outbound;
    this.telephoneEvent = chooseTelephoneEvent(spec.codecs);
    this.quality.setCodecs(spec.codecs);
    // SSRCs learned from media survive a re-INVITE; announced ones are added.
    this.lastSsrc = -1;
    for (const s of spec.ssrcs) {
      if (this.knownSsrcs.length >= MAX_KNOWN_SSRCS) break;
      const v = s >>> 0;
      if (!this.knownSsrcs.includes(v)) this.knownSsrcs.push(v);
    }
    if (!this.enabled) {
      this.latchedIp[0] = this.latchedIp[1] = null;
      this.latchedPort[0] = this.latchedPort[1] = 0;
    }
  }

  knowsSsrc(ssrc: number): boolean {
    return this.knownSsrcs.includes(ssrc);
  }
}

export function receivesMedia(d: Direction): boolean {
  return d === 'sendrecv' || d === 'recvonly';
}

export function sendsMedia(d: Direction): boolean {
  return d === 'sendrecv' || d === 'sendonly';
}

export class ParticipantState {
  readonly id: string;
  readonly session: SessionState;
  readonly user: string | undefined;
  displayName: string | undefined;
  readonly label: string | undefined;
  readonly mode: AudioMode;
  readonly joinedAt: number;
  readonly signalingIp: string;
  lastActivityAt: number;
  lastRtcpAt: number | undefined;
  cname: string | undefined;
  sdesName: string | undefined;
  /** Raw SDES item bytes last decoded, so unchanged SDES costs a compare, not a string. */
  cnameBytes: Buffer | undefined;
  nameBytes: Buffer | undefined;
  /** Streams by medium index; null when the participant has none for that medium. */
  readonly streams: [StreamState | null, StreamState | null] = [null, null];
  /** IPs that proved return-routability (SIP ACK, latched packet). */
  readonly confirmedIps = new Set<string>();
  /** SSRCs that sent RTCP BYE. */
  readonly byeSsrcs = new Set<number>();
  removed = false;

  constructor(
    id: string,
    session: SessionState,
    init: { user?: string; label?: string; mode: AudioMode; signalingAddress: string; now: number },
  ) {
    this.id = id;
    this.session = session;
    this.user = init.user;
    this.label = init.label;
    this.mode = init.mode;
    this.joinedAt = init.now;
    this.lastActivityAt = init.now;
    this.signalingIp = normalizeIp(init.signalingAddress);
  }

  /** The IPs latching accepts for a new source of this participant (SPEC §5). */
  ownsIp(ip: string): boolean {
    if (ip === this.signalingIp) return true;
    for (const s of this.streams) if (s !== null && s.sdpIp === ip) return true;
    return false;
  }

  allSsrcsSaidBye(): boolean {
    for (const s of this.streams) {
      if (s === null) continue;
      for (const ssrc of s.knownSsrcs) if (!this.byeSsrcs.has(ssrc)) return false;
    }
    return true;
  }
}
