/**
 * Why the core dropped a datagram: stable snake_case strings that are also the
 * metric labels of `drops()` (SPEC §5, §10). Codec-level reasons from src/rtp
 * (e.g. `rtcp_bad_version`) are counted under their own names next to these.
 */
export const ReflectorDrop = {
  /** Media from a source no participant could be latched to. */
  UnknownSource: 'unknown_source',
  /** Several waiting participants could own the source; none was chosen. */
  AmbiguousSource: 'ambiguous_source',
  /** A participant's known SSRC from an IP that is not that participant's. */
  ForeignIp: 'foreign_ip',
  /** Too short or not RTP/RTCP version 2. */
  MalformedRtp: 'malformed_rtp',
  MalformedRtcp: 'malformed_rtcp',
  /** RTP from a participant whose direction does not send (recvonly/inactive) or whose stream is disabled. */
  NotSending: 'not_sending',
  /** A keep-alive datagram that is neither STUN Binding Request nor RTP with a known SSRC. */
  KeepaliveUnknown: 'keepalive_unknown',
  KeepaliveMalformed: 'keepalive_malformed',
  /** From a source HOSTS_DENY refuses (and HOSTS_ALLOW does not allow). */
  HostDenied: 'host_denied',
  /** From one of the reflector's own ports on one of its addresses (a c= line naming us). */
  OwnSource: 'own_source',
  /** A datagram whose handler threw: our bug, counted instead of crashing. */
  InternalError: 'internal_error',
} as const;
export type ReflectorDrop = (typeof ReflectorDrop)[keyof typeof ReflectorDrop];
