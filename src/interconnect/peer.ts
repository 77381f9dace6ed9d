/**
 * One configured peer reflector (SPEC §6): what we learned from it (HELLO,
 * SESSION_STATE), its anti-replay state and its relay counters. The
 * interconnect owns the peers and drives them; a Peer does no I/O.
 */
import { isIPv4 } from 'node:net';
import type { PeerConfig } from '../config/types.js';
import type { PeerSnapshot } from './api.js';
import type { RelayOpener, RelaySealer } from './relay-crypto.js';
import type { RelaySocketPair } from './relay-socket-pair.js';
import { SeqWindow } from './seq-window.js';

/** "address:rtpRelayPort", the key used everywhere for a peer. */
export function peerKey(address: string, rtpRelayPort: number): string {
  return `${address}:${rtpRelayPort}`;
}

/** What a peer announced for one session. */
export interface RemoteSession {
  /** COUNT: participants reachable through the peer that it counts towards us. */
  count: number;
  /** ORIGINS: the part of COUNT per origin NODE_ID (empty from a version-1 peer). */
  origins: ReadonlyMap<number, number>;
  /** JOINS: origins whose media the peer asks us for. */
  joins: ReadonlySet<number>;
  /** The peer's RELAY_ID for the session (what its relay datagrams carry). */
  relayId: number;
  /** ms since epoch of the last SESSION_STATE (refresh), for expiry. */
  at: number;
}

const EMPTY_ORIGINS: ReadonlyMap<number, number> = new Map();
const EMPTY_JOINS: ReadonlySet<number> = new Set();

export class Peer {
  readonly key: string;
  readonly address: string;
  readonly rtpRelayPort: number;
  readonly rtcpRelayPort: number;
  readonly isIpv4: boolean;
  secret: string | undefined;
  /** The socket pair of its relay port, and the address to send to from it. */
  pair: RelaySocketPair | undefined;
  sendAddress: string;

  up = false;
  id: string | undefined;
  /** BOOT_EPOCH of the peer instance we are talking to. */
  epoch: bigint | undefined;
  lastHelloAt: number | undefined;
  readonly seqWindow = new SeqWindow();
  /**
   * NODE_ID from its HELLO; undefined for a version-1 peer (no NODE_ID), which is
   * treated as part of us for routing (docs/protocol.md: trees only through it).
   */
  nodeId: number | undefined;
  /** Its last ROUTES: node → metric as it advertised them to us. */
  routes: ReadonlyMap<number, number> = new Map();
  /** Protected relay (with a secret): keys for both directions, once NODE_IDs and BOOT_EPOCHs are known. */
  sealer: RelaySealer | undefined;
  opener: RelayOpener | undefined;
  /** What the keys were derived from (to see a change); never logged. */
  keyInputs = '';

  /** Sessions this peer announced with COUNT > 0. */
  readonly sessions = new Map<string, RemoteSession>();
  /** RELAY_ID → session name, the reverse of `sessions`. */
  readonly sessionByRelayId = new Map<number, string>();

  relayPacketsIn = 0;
  relayPacketsOut = 0;
  relayBytesIn = 0;
  relayBytesOut = 0;

  constructor(config: PeerConfig) {
    this.address = config.address;
    this.rtpRelayPort = config.rtpRelayPort;
    this.rtcpRelayPort = config.rtpRelayPort + 1;
    this.key = peerKey(config.address, config.rtpRelayPort);
    this.isIpv4 = isIPv4(config.address);
    this.secret = config.secret;
    this.pair = undefined;
    this.sendAddress = config.address;
  }

  count(session: string): number {
    return this.sessions.get(session)?.count ?? 0;
  }

  /** True for a peer speaking the current version (HELLO with NODE_ID). */
  get v2(): boolean {
    return this.nodeId !== undefined;
  }

  /**
   * Records a SESSION_STATE. Returns the previous count. COUNT 0 without JOINS
   * forgets the session (and its RELAY_ID).
   */
  setSession(
    session: string, relayId: number, count: number, now: number,
    origins: ReadonlyMap<number, number> = EMPTY_ORIGINS, joins: ReadonlySet<number> = EMPTY_JOINS,
  ): number {
    const prev = this.sessions.get(session);
    const prevCount = prev?.count ?? 0;
    const ended = count === 0 && joins.size === 0;
    // The end of a session ends its RELAY_ID with it: stale relay datagrams are
    // then dropped, and a peer cycling ids cannot grow sessionByRelayId.
    if (prev !== undefined && (prev.relayId !== relayId || ended)) this.#unmapRelayId(prev.relayId, session);
    if (ended) {
      if (prev !== undefined) this.sessions.delete(session);
      return prevCount;
    }
    // The caller first ends any other session of this peer that held the same RELAY_ID.
    this.sessionByRelayId.set(relayId, session);
    if (prev !== undefined) {
      prev.count = count;
      prev.relayId = relayId;
      prev.at = now;
      prev.origins = origins;
      prev.joins = joins;
    } else {
      this.sessions.set(session, { count, relayId, at: now, origins, joins });
    }
    return prevCount;
  }

  /** Its JOINS for a session (empty when none). */
  joins(session: string): ReadonlySet<number> {
    return this.sessions.get(session)?.joins ?? EMPTY_JOINS;
  }

  /** Its ORIGINS count for one origin of a session. */
  originCount(session: string, origin: number): number {
    return this.sessions.get(session)?.origins.get(origin) ?? 0;
  }

  /** Forgets everything learned from this peer instance; returns the sessions it had. */
  clearSessions(): string[] {
    const names = [...this.sessions.keys()];
    this.sessions.clear();
    this.sessionByRelayId.clear();
    return names;
  }

  #unmapRelayId(relayId: number, session: string): void {
    if (this.sessionByRelayId.get(relayId) === session) this.sessionByRelayId.delete(relayId);
  }

  snapshot(): PeerSnapshot {
    const sessions: Record<string, number> = {};
    for (const [name, s] of this.sessions) sessions[name] = s.count;
    return {
      key: this.key,
      address: this.address,
      rtpRelayPort: this.rtpRelayPort,
      ...(this.id !== undefined ? { id: this.id } : {}),
      ...(this.nodeId !== undefined ? { nodeId: this.nodeId } : {}),
      up: this.up,
      ...(this.lastHelloAt !== undefined ? { lastHelloAt: this.lastHelloAt } : {}),
      ...(this.epoch !== undefined ? { bootEpoch: this.epoch.toString() } : {}),
      relayPacketsIn: this.relayPacketsIn,
      relayPacketsOut: this.relayPacketsOut,
      relayBytesIn: this.relayBytesIn,
      relayBytesOut: this.relayBytesOut,
      sessions,
    };
  }
}
