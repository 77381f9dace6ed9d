/**
 * The typed, deep-frozen configuration (SPEC §3). The zod schema in
 * schema.ts produces exactly this shape; defaults.ts gives the built-in
 * defaults. Every other module reads configuration only through this type.
 */
import type { LogLevel } from '../runtime/logger.js';

export type AudioMode = 'reflect' | 'mix';
export type SipTransport = 'udp' | 'tcp' | 'tls';
/** SRTP policy (SPEC §15): refuse RTP/SAVP, accept both, or refuse plain RTP/AVP. */
export type SrtpPolicy = 'off' | 'optional' | 'required';
export type DigestAlgorithm = 'MD5' | 'SHA-256';
/** Media socket I/O: batched recvmmsg/sendmmsg through the native addon, plain node:dgram, or auto. */
export type ReflectorIo = 'auto' | 'mmsg' | 'dgram';
/** MEDIA_WORKERS: a count (1-64) or `auto` (one per core). */
export type MediaWorkers = 'auto' | number;

/** An IPv4 or IPv6 network, e.g. 10.0.0.0/8; `all` is 0.0.0.0/0 plus ::/0. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
}

export interface SipUser {
  readonly name: string;
  /** Exactly one of these is set. */
  readonly password?: string;
  readonly ha1Md5?: string;
  readonly ha1Sha256?: string;
}

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export interface PeerConfig {
  readonly address: string;
  /** RTP relay port; RTCP relay and control use rtpRelayPort + 1. */
  readonly rtpRelayPort: number;
  /** The peer's own secret, or INTERCONNECTION_SECRET, or undefined. */
  readonly secret?: string;
}

export interface Config {
  /** Path of the file this came from, or undefined for built-in defaults. */
  readonly source?: string;
  readonly reflectorId: string;
  readonly listenAddress: string;
  readonly publicAddress: string;
  readonly sipPort: number;
  readonly sipTransports: readonly SipTransport[];
  /** SIP over TLS port (SPEC §15), used when sipTransports includes tls. */
  readonly sipTlsPort: number;
  /** Absolute paths of the PEM certificate chain and key for SIP over TLS (both or neither). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly srtp: SrtpPolicy;
  readonly sipRealm: string;
  readonly sipAuth: boolean;
  readonly sipDigestAlgorithms: readonly DigestAlgorithm[];
  readonly sipUsers: readonly SipUser[];
  readonly sipUsersFile?: string;
  readonly hostsAllow: readonly Cidr[];
  readonly hostsDeny: readonly Cidr[];
  readonly audioPort: number;
  readonly videoPort: number;
  readonly keepalivePorts: PortRange;
  readonly checkipPort: number;
  readonly fileTransferPort: number;
  readonly appshareServerPorts: PortRange;
  readonly appshareClientPorts: PortRange;
  readonly peers: readonly PeerConfig[];
  readonly interconnectionSecret?: string;
  /** ICE-lite on the media ports (SPEC §16): answer ICE offers and their connectivity checks. */
  readonly ice: boolean;
  /**
   * MEDIA_WORKERS: threads that receive and fan out media, each on its own SO_REUSEPORT socket of
   * every media port (`auto` = one per core). REFLECTOR_MEDIA_WORKERS in the environment overrides it
   * (see effectiveMediaWorkers in defaults.ts).
   */
  readonly mediaWorkers: MediaWorkers;
  readonly inactivityTimeoutS: number;
  /**
   * Seconds a reflector stopped with SIGTERM keeps its calls in progress while it refuses new ones
   * (503 + Retry-After to INVITE and OPTIONS, so a dispatcher in front moves new calls away);
   * 0 = leave at once.
   */
  readonly drainTimeoutS: number;
  readonly maxSessions: number;
  readonly maxParticipants: number;
  readonly maxParticipantsPerSession: number;
  readonly audioMode: AudioMode;
  readonly audioCodecs: readonly string[];
  readonly videoCodecs: readonly string[];
  readonly fileSpoolDir: string;
  readonly fileMaxBytes: number;
  readonly fileTtlS: number;
  /** undefined when STATUS_LISTEN is `off`. */
  readonly statusListen?: { readonly address: string; readonly port: number } | undefined;
  readonly adminToken?: string | undefined;
  readonly logLevel: LogLevel;
  /**
   * From the environment variable REFLECTOR_IO (not a config-file keyword): `auto` (default; batched
   * I/O when the addon loads), `mmsg` (batched or fail to start), `dgram`. Unknown values mean `auto`.
   */
  readonly reflectorIo: ReflectorIo;
}
