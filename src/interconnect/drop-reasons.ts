/**
 * Why the interconnect dropped a datagram (SPEC §6). Stable snake_case strings:
 * they are also the metric labels of InterconnectLink.drops().
 */
export const InterconnectDrop = {
  /** Source address is not a configured peer of the port pair it arrived on. */
  NotPeer: 'not_peer',
  /** Neither a relay shim (0x52) nor an RTCP version-2 byte. */
  UnknownDatagram: 'unknown_datagram',
  /** A control (RTCP) packet on the RTP relay port; control belongs on port+1. */
  ControlOnRtpPort: 'control_on_rtp_port',
  /**
   * An RTCP packet from a peer without an RFLX APP packet in it (or not a valid
   * compound). An RFLX packet that does not parse is counted under the codec's
   * reasons (RflxDrop: rflx_bad_tlv_length, rflx_tlv_truncated, ...).
   */
  NotRflx: 'not_rflx',
  /** The peer has a secret but the packet carries no AUTH TLV. */
  AuthMissing: 'auth_missing',
  /** AUTH does not match HMAC-SHA256(secret, packet). */
  AuthFailed: 'auth_failed',
  TimestampMissing: 'timestamp_missing',
  /** TIMESTAMP further than ±60 s from our clock. */
  StaleTimestamp: 'stale_timestamp',
  SeqMissing: 'seq_missing',
  /** SEQ already seen (or too old) for the sender's BOOT_EPOCH. */
  ReplayedSeq: 'replayed_seq',
  /** An authenticated packet of an older BOOT_EPOCH than the one in use by a live peer. */
  StaleEpoch: 'stale_epoch',
  HelloMalformed: 'hello_malformed',
  SessionStateMalformed: 'session_state_malformed',
  BadSessionName: 'bad_session_name',
  /** A peer announced more sessions than MAX_SESSIONS. */
  TooManySessions: 'too_many_sessions',
  /** An RFLX subtype peers do not send to each other (1–8, unknown). */
  UnexpectedSubtype: 'unexpected_subtype',
  /**
   * Hop count would exceed RELAY_MAX_HOPS when relayed on. Received shims that do
   * not parse are counted under the codec's reasons (RelayShimDrop: relay_too_short,
   * relay_bad_version, relay_hop_limit, ...).
   */
  RelayHopLimit: 'relay_hop_limit',
  /** A version-2 relay datagram whose ORIGIN is this reflector: its own media came back (a loop). */
  RelayOwnOrigin: 'relay_own_origin',
  /** A version-2 relay datagram seen before (same origin, flow and ORIGIN_SEQ): another path. */
  RelayDuplicate: 'relay_duplicate',
  /** ORIGIN_SEQ further back than the duplicate window (128): cannot be told from a duplicate. */
  RelayTooOld: 'relay_too_old',
  /** A session already keeps windows for 1024 origins. */
  RelayTooManyOrigins: 'relay_too_many_origins',
  /** A link with a secret: a relay datagram that is not protected (shim version 1 or 2). */
  RelayUnprotected: 'relay_unprotected',
  /** A protected datagram whose AEAD tag does not verify (forged, tampered, or another key). */
  RelayAuthFailed: 'relay_auth_failed',
  /** A protected datagram whose SEQ was already accepted or is older than the replay window (1024). */
  RelayReplayed: 'relay_replayed',
  /** No relay key (yet) for a protected datagram: no secret for that peer, or its HELLO not seen. */
  RelayNoKey: 'relay_no_key',
  /** A send key used 2^52 times (never in practice). */
  RelayKeyExhausted: 'relay_key_exhausted',
  /** A link with a secret: the peer speaks the previous format (HELLO without NODE_ID) and is refused. */
  PeerVersionRefused: 'peer_version_refused',
  /** RELAY_ID not announced by that peer (or the session has ended there). */
  RelayUnknownSession: 'relay_unknown_session',
  SocketError: 'socket_error',
  /** A bug of ours caught by the socket handler's backstop. */
  Internal: 'internal_error',
} as const;
export type InterconnectDrop = (typeof InterconnectDrop)[keyof typeof InterconnectDrop];
