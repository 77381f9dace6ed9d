/**
 * The narrow interface of the reflector core (SPEC §4–§5). The SIP front end,
 * the interconnect, the mixer, the proxy, ops and the tests reach the core only
 * through these types; main.ts wires them. Additive changes only.
 */
import type { AudioMode } from '../config/types.js';
import type { TypedEmitter } from '../runtime/typed-emitter.js';

export type Medium = 'audio' | 'video';
export const MEDIA: readonly Medium[] = ['audio', 'video'];

/** What the participant itself does, as in its SDP (RFC 3264): sendonly = it sends, we don't send to it. */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** One negotiated codec of one participant's stream. */
export interface CodecMapping {
  /** The session's canonical payload type for this codec (used in the SDP answer). */
  readonly canonicalPt: number;
  /** The payload type this participant offered for it (may equal canonicalPt). */
  readonly participantPt: number;
  /** Encoding name as in a=rtpmap, e.g. PCMU, G722, opus, telephone-event, H264. */
  readonly name: string;
  readonly clockRateHz: number;
  readonly channels: number;
  readonly fmtp?: string;
}

/** A codec of the session's canonical table (what SDP answers use). */
export interface SessionCodec {
  readonly pt: number;
  readonly name: string;
  readonly clockRateHz: number;
  readonly channels: number;
  readonly fmtp?: string;
}

export interface StreamSpec {
  readonly medium: Medium;
  /** The SDP connection address (c=). Untrusted: sent to only once its IP proved return-routability. */
  readonly address: string;
  /** The SDP m= port; 0 means the stream is rejected or disabled. */
  readonly rtpPort: number;
  /** a=rtcp port, else rtpPort + 1. */
  readonly rtcpPort: number;
  readonly direction: Direction;
  /** SSRCs announced with a=ssrc. */
  readonly ssrcs: readonly number[];
  /** Negotiated codecs, most preferred first. Empty for a rejected stream. */
  readonly codecs: readonly CodecMapping[];
}

export interface JoinRequest {
  /** Session name, already validated (SPEC §4). Case-sensitive. */
  readonly session: string;
  readonly user?: string;
  /** The caller's display name (SIP From), if it gave one. */
  readonly displayName?: string;
  /** Source IP of the SIP signalling (one of the IPs latching accepts). */
  readonly signalingAddress: string;
  readonly mode: AudioMode;
  readonly streams: readonly StreamSpec[];
  /** Free-form label for logs and status, e.g. the SIP Call-ID. */
  readonly label?: string;
}

/** Why a participant left; the small fixed vocabulary of logs and status. */
export type LeaveReason =
  | 'bye'
  | 'cancel'
  | 'timeout'
  | 'rtcp_bye'
  | 'ack_timeout'
  | 'kicked'
  | 'shutdown'
  | 'error';

export type AdmissionCode = 'session_full' | 'server_full' | 'too_many_sessions';

/** Thrown by join()/checkAdmission() when a limit of SPEC §3 is reached (SIP maps to 486 / 503). */
export class AdmissionError extends Error {
  readonly code: AdmissionCode;
  constructor(code: AdmissionCode, message: string) {
    super(message);
    this.name = 'AdmissionError';
    this.code = code;
  }
}

/** Per participant and medium counters (SPEC §10). */
export interface StreamCounters {
  rtpPacketsIn: number;
  rtpBytesIn: number;
  rtcpPacketsIn: number;
  rtcpBytesIn: number;
  rtpPacketsOut: number;
  rtpBytesOut: number;
  rtcpPacketsOut: number;
  rtcpBytesOut: number;
}

/** Loss, jitter and the MOS estimate of one direction. */
export interface DirectionQuality {
  readonly lossPct: number;
  readonly jitterMs: number;
  readonly mos: number;
}

/** Call quality of a participant's audio (src/reflector/call-quality.ts explains the figures). */
export interface CallQuality {
  /** What the participant sent, as the reflector received it (its RTP). */
  readonly sent?: DirectionQuality;
  /** What the participant received, as it reported (its RTCP RR/SR report blocks, or XR). */
  readonly received?: DirectionQuality & { readonly source: 'rr' | 'xr' };
  readonly rttMs?: number;
  /** ms since epoch of the last update from RTCP. */
  readonly updatedAt?: number;
}

/** One sample for the metrics histograms (no participant label). */
export interface QualitySample {
  readonly direction: 'sent' | 'received';
  readonly lossPct: number;
  readonly jitterMs: number;
  readonly mos: number;
  readonly rttMs?: number;
}

export interface ParticipantSnapshot {
  readonly id: string;
  readonly session: string;
  readonly user?: string;
  /** The SIP display name, if the caller gave one. */
  readonly displayName?: string;
  readonly label?: string;
  readonly mode: AudioMode;
  readonly joinedAt: number;
  /** ms since epoch of the last RTCP packet, or undefined. */
  readonly lastRtcpAt?: number;
  readonly lastActivityAt: number;
  readonly cname?: string;
  readonly sdesName?: string;
  /** Audio call quality from its RTP and RTCP, once it sent an RTCP report. */
  readonly quality?: CallQuality;
  readonly streams: readonly {
    readonly medium: Medium;
    readonly sdpAddress: string;
    readonly sdpRtpPort: number;
    /** Latched source of RTP / RTCP as "ip:port", if any. */
    readonly rtpSource?: string;
    readonly rtcpSource?: string;
    readonly direction: Direction;
    readonly codecs: readonly string[];
    readonly counters: Readonly<StreamCounters>;
  }[];
}

export interface SessionSnapshot {
  readonly name: string;
  readonly createdAt: number;
  readonly participants: readonly ParticipantSnapshot[];
  /** Participant counts learned from peers, by peer key ("address:port"). */
  readonly remoteCounts: Readonly<Record<string, number>>;
}

export type CoreEvents = {
  'participant-joined': [snapshot: ParticipantSnapshot];
  /** A participant's streams changed (re-INVITE: hold, resume, codecs); emitted after the core applied them. */
  'participant-updated': [snapshot: ParticipantSnapshot];
  /** Emitted once per participant. SIP sends BYE when reason is not bye/cancel. */
  'participant-removed': [id: string, session: string, reason: LeaveReason];
  'session-created': [name: string];
  /** The last local participant left (the session may live on at peers). */
  'session-empty': [name: string];
  /** The RTCP address of a participant latched (first time or changed): announcements go there (SPEC §7). */
  'rtcp-latched': [id: string, session: string];
  /** Quality figures computed at an RTCP report of a participant (for histograms; no participant id by design). */
  'call-quality': [sample: QualitySample];
};

/**
 * Hook for the inter-reflector link. The core calls `forward` for every RTP/RTCP
 * datagram of a local participant, and the interconnect decides which peers want
 * it. Relayed datagrams never come back here: the interconnect relays them from
 * peer to peer itself and injects them into the core only for local fan-out.
 */
export interface RelayPort {
  forward(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void;
}

/**
 * Hook for RTCP APP `RFLX` requests from participants (SPEC §7 subtypes 1, 5):
 * the core hands them over and does not forward them.
 */
export interface RflxHandler {
  onParticipantRflx(participantId: string, session: string, app: Buffer): void;
}

/** Hook for the audio mixer: the core hands it audio of sessions with mixed participants. */
export interface MixerPort {
  /**
   * An audio RTP packet of `session` from local participant `fromParticipant` (null when relayed
   * from a peer), with its payload type already mapped to the session's canonical number.
   * The buffer is only valid during the call.
   */
  onAudioRtp(session: string, fromParticipant: string | null, canonicalPt: number, packet: Buffer): void;
  /** An audio RTCP packet addressed to the mixer's SSRC space (RR about mixed streams), for statistics. */
  onAudioRtcp(session: string, fromParticipant: string, packet: Buffer): void;
}

export interface ReflectorCore {
  readonly events: TypedEmitter<CoreEvents>;

  /** The session's canonical codecs for a medium, in the order first used (empty if none). */
  sessionCodecs(session: string, medium: Medium): readonly SessionCodec[];
  /** Throws AdmissionError if a new participant could not join `session` now. */
  checkAdmission(session: string): void;
  /** Adds a participant; registers its canonical codecs in the session. Returns its id. */
  join(req: JoinRequest): string;
  /** Replaces a participant's streams (re-INVITE: media change, hold). */
  update(id: string, streams: readonly StreamSpec[]): void;
  /** A signalling packet (e.g. the ACK of the dialog) arrived from `ip`: that IP proved return-routability. */
  confirmAddress(id: string, ip: string): void;
  /** Removes a participant; idempotent. Emits participant-removed. */
  leave(id: string, reason: LeaveReason): void;
  has(id: string): boolean;
  /** A participant's negotiated codecs with its own PT numbers, most preferred first; undefined for an unknown id. */
  participantCodecs(participantId: string, medium: Medium): readonly CodecMapping[] | undefined;

  /** Media relayed from a peer: reflected to local participants (and the mixer) only; the interconnect relays it on. */
  injectRelayed(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void;
  /**
   * Sends a packet of our own to a participant's latched (or proven SDP) address for that medium,
   * from the medium's port: RFLX announcements (audio, rtcp), the mixer's output (audio, rtp/rtcp).
   * Returns false when there is no address allowed by the anti-amplification rule yet, and for RTP
   * to a stream that does not receive (sendonly or inactive: on hold, RFC 3264 §5.1).
   */
  sendTo(participantId: string, medium: Medium, rtcp: boolean, packet: Buffer): boolean;

  setRelayPort(port: RelayPort | null): void;
  setRflxHandler(handler: RflxHandler | null): void;
  /**
   * The mixer hook (SPEC §13). While set, every audio RTP/RTCP datagram of a session that has a
   * `mix` participant (local or relayed) is also given to the mixer, and audio is no longer
   * reflected to `mix` participants; the mixer regenerates telephone-event packets in their mixed streams.
   */
  setMixerPort(port: MixerPort | null): void;

  /** Names of sessions with at least one local participant. */
  sessionNames(): readonly string[];
  participantIds(session: string): readonly string[];
  snapshot(): readonly SessionSnapshot[];
  /** Dropped datagrams by reason (metric labels). */
  drops(): Readonly<Record<string, number>>;
  /** Datagrams handled but not forwarded as usual, by kind (rflx_consumed, telephone_event_…); not drops. */
  counters?(): Readonly<Record<string, number>>;
}
