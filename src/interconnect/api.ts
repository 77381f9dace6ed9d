/**
 * The interconnect's narrow interface (SPEC §6), used by the proxy (share and
 * file announcements to and from peers), ops (peer status) and main.ts.
 */
import type { RflxFields, RflxMessage } from '../rtp/rflx-types.js';
import type { TypedEmitter } from '../runtime/typed-emitter.js';

export interface PeerSnapshot {
  /** "address:rtpRelayPort" — the key used everywhere for a peer. */
  readonly key: string;
  readonly address: string;
  readonly rtpRelayPort: number;
  /** REFLECTOR_ID from its HELLO, once heard. */
  readonly id?: string;
  /** NODE_ID from its HELLO (absent for a peer of the previous, version-1 protocol). */
  readonly nodeId?: number;
  readonly up: boolean;
  /** ms since epoch of the last valid HELLO. */
  readonly lastHelloAt?: number;
  readonly bootEpoch?: string;
  readonly relayPacketsIn: number;
  readonly relayPacketsOut: number;
  readonly relayBytesIn: number;
  readonly relayBytesOut: number;
  /** Participant counts this peer announced, by session. */
  readonly sessions: Readonly<Record<string, number>>;
}

export type InterconnectEvents = {
  'peer-up': [key: string];
  'peer-down': [key: string];
  /** The peer came back with a new BOOT_EPOCH: whatever it announced before is gone with its old process. */
  'peer-restarted': [key: string];
  /** A peer's COUNT for a session changed (0 = it left). */
  'remote-count': [session: string, peerKey: string, count: number];
  /** A verified RFLX message of subtype 18, 19 or 20 from a peer (for the proxy). */
  'peer-rflx': [peerKey: string, message: RflxMessage];
};

export interface InterconnectLink {
  readonly events: TypedEmitter<InterconnectEvents>;
  /** Keys of peers whose last COUNT for `session` is > 0 (those that get its media and announcements). */
  peersWithParticipants(session: string): readonly string[];
  /** Participants of `session` reachable through peers (sum of their counts). */
  remoteCount(session: string): number;
  /**
   * Sends an RFLX control message (subtypes 18–20) to one peer on its RTCP relay port;
   * the link adds TIMESTAMP, SEQ and AUTH when that peer has a secret.
   */
  sendRflx(peerKey: string, subtype: number, fields: RflxFields): void;
  /** The peer's address (for TCP connections of the file and share relays). */
  peerAddress(peerKey: string): string | undefined;
  peers(): readonly PeerSnapshot[];
  drops(): Readonly<Record<string, number>>;
}
