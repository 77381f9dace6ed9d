/**
 * Reflector interconnection (SPEC §6, §7 subtypes 16–20; graphs with cycles,
 * docs/protocol.md "Graphs with cycles").
 *
 *   core ──forward()──▶ Interconnect ──[shim|packet]──▶ peer relay ports (UDP port, port+1)
 *   core ◀─injectRelayed()── Interconnect ◀──[shim|packet]── peers      (local fan-out only)
 *                            Interconnect ──[shim|packet]──▶ other peers (relayed on here)
 *                            Interconnect ◀─▶ peers: RTCP APP RFLX HELLO / SESSION_STATE (+18–20)
 *
 * Routing: every reflector has a random NODE_ID. HELLO carries a distance
 * vector (ROUTES, split horizon with poisoned reverse: METRIC 255 = "via you"),
 * so each reflector knows its next hop towards every other one. Media that
 * enters at origin O flows down O's shortest-path tree: a reflector asks its
 * next hop towards O for O's media (JOINS in SESSION_STATE) while it or its
 * own joiners have participants, and relays O's media only to peers that joined
 * O with it. Each origin's participant count flows the same tree (ORIGINS), so
 * counts neither double nor count to infinity in a cycle. Relay datagrams carry
 * ORIGIN and ORIGIN_SEQ (shim version 2): a reflector drops its own packets and
 * duplicates (a 128-packet window per origin and flow) while routes change.
 *
 * A version-1 peer (HELLO without NODE_ID) is treated as part of this
 * reflector: its participants count as ours and its media enters with us as
 * origin; it gets version-1 shims and everything while its COUNT is > 0, with
 * split horizon and the hop count as before (trees only through it).
 *
 * Hot path: version-1 shims are precomputed per (session, medium, hop) (local-session.ts);
 * version-2 and -3 headers are written into a ring of preallocated slots (relay-sender.ts).
 */
import { randomInt } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import type { Config, PeerConfig } from '../config/types.js';
import type { Medium, ReflectorCore, RelayPort, ParticipantSnapshot } from '../reflector/api.js';
import { RflxSubtype, type RflxFields, type RflxMessage } from '../rtp/rflx-types.js';
import type { Component } from '../runtime/component.js';
import { DropCounter } from '../runtime/drop-counter.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import type { Logger } from '../runtime/logger.js';
import { TimerSet } from '../runtime/timer-set.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import type { InterconnectEvents, InterconnectLink, PeerSnapshot } from './api.js';
import { InterconnectDrop } from './drop-reasons.js';
import { Peer, peerKey } from './peer.js';
import { RelaySocketPair } from './relay-socket-pair.js';
import {
  RELAY_SHIM3_SIZE,
  RELAY_SHIM3_TAG_SIZE,
  RELAY_SHIM_VERSION3,
  RELAY_SHIM_VERSION,
  RelayShim,
  isRelayShim,
  parseRelayShim,
} from '../rtp/relay-shim.js';
import {
  encodeJoins,
  encodeOrigins,
  encodeRoutes,
} from '../rtp/relay-routing.js';
import { DupVerdict, DupWindow } from './dup-window.js';
import { EMPTY_STATE, LocalSession, MEDIUM_BY_INDEX, MEDIUM_INDEX, type StateFor } from './local-session.js';
import { updateRelayKeys } from './relay-keys.js';
import { RelaySender } from './relay-sender.js';
import { type Route, computeRoutes, routesFor, sameMap, sameRoutes, sameSet } from './routing.js';
import { legacyCount, originCount, rebuildTargets, stateFor } from './session-state.js';
import { encodeRflx } from '../rtp/rflx.js';
import { readControl } from './control-in.js';

export interface InterconnectTiming {
  /** HELLO interval (SPEC §6: 5 s). */
  readonly helloMs: number;
  /** SESSION_STATE refresh interval (SPEC §6: 5 s). */
  readonly refreshMs: number;
}

export interface InterconnectDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  /** Shorter intervals for tests; production uses the SPEC's 5 s. */
  readonly timing?: Partial<InterconnectTiming>;
}

export type Interconnect = InterconnectLink & Component;

const EMPTY_ROUTES: ReadonlyMap<number, number> = new Map();
const EMPTY_JOINS: ReadonlySet<number> = new Set();

export const DEFAULT_TIMING: InterconnectTiming = { helloMs: 5000, refreshMs: 5000 };
/** SPEC §6: a peer is down after 3 missed HELLOs. */
export const MISSED_HELLOS = 3;
/** A peer's session not refreshed for this many refresh intervals is forgotten (a lost COUNT 0). */
export const MISSED_REFRESHES = 3;
/** The largest SEQ (u32). */
const SEQ_MAX = 0xffff_ffff;
/** close() waits at most this long for the final COUNT 0 packets to leave. */
const CLOSE_FLUSH_MS = 500;
/** Input defects are logged at most once per reason per interval. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Origins a session keeps duplicate windows for. */
const MAX_ORIGINS_PER_SESSION = 1024;
let lastBootEpoch = 0n;
/** ms since epoch at start, strictly increasing within a process (tests restart instances quickly). */
function nextBootEpoch(): bigint {
  let epoch = BigInt(Date.now());
  if (epoch <= lastBootEpoch) epoch = lastBootEpoch + 1n;
  lastBootEpoch = epoch;
  return epoch;
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** The interconnect: peers, routing, announcing and receiving; the relay's send side is RelaySender. */
export class InterconnectImpl implements Interconnect, RelayPort {
  readonly events = new TypedEmitter<InterconnectEvents>();
  readonly #core: ReflectorCore;
  readonly #logger: Logger;
  readonly #timing: InterconnectTiming;
  #config: Config;
  #bootEpoch = nextBootEpoch();
  /**
   * SEQ of our control packets: one counter for all peers, so it increases per peer too.
   * Before it would wrap we take a new BOOT_EPOCH (peers see a restart and re-sync).
   */
  #seq = 0;
  #state: State = 'new';
  #closed: Promise<void> | undefined;

  readonly #peers = new Map<string, Peer>();
  readonly #pairs = new Map<number, RelaySocketPair>();
  /** Pairs no peer uses any more, closed shortly (or by close()). */
  readonly #retiredPairs = new Set<RelaySocketPair>();
  readonly #sessions = new Map<string, LocalSession>();
  readonly #relayIds = new Set<number>();
  readonly #drops = new DropCounter();
  readonly #dropLog: RateLimitedLog;
  readonly #timers = new TimerSet();

  readonly #dirty = new Set<string>();
  #flushHandle: NodeJS.Immediate | undefined;
  #pendingSends = 0;
  #sendsDrained: (() => void) | undefined;

  /** Our NODE_ID (docs/protocol.md): random, never 0; renewed if a peer has the same. */
  #nodeId = randomInt(1, 0x1_0000_0000);
  /** Next hop and metric towards every other version-2 reflector we can reach. */
  #routes = new Map<number, Route>();
  #helloHandle: NodeJS.Immediate | undefined;
  readonly #shimIn = new RelayShim();
  /** The relay's send side (hot path): shims, the header ring, sealing. */
  readonly #sender: RelaySender;

  readonly #onJoined = (p: ParticipantSnapshot): void => this.#markDirty(p.session);
  readonly #onRemoved = (_id: string, session: string): void => this.#markDirty(session);
  readonly #onSessionChange = (name: string): void => this.#markDirty(name);

  constructor(deps: InterconnectDeps) {
    this.#core = deps.core;
    this.#logger = deps.logger;
    this.#dropLog = new RateLimitedLog(deps.logger, DROP_LOG_INTERVAL_MS);
    this.#config = deps.config;
    this.#timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.#sender = new RelaySender((reason, detail) => this.#drop(reason, detail));
  }

  // ─── Component ──────────────────────────────────────────────────────────

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    const binds = this.#applyPeers(this.#config.peers);
    try {
      await Promise.all(binds);
    } catch (err) {
      // A relay port is taken: release what did bind, and let main.ts report the failure.
      await Promise.allSettled(binds);
      this.#state = 'closed';
      this.#closed = Promise.resolve();
      this.#timers.dispose();
      await Promise.all([...this.#pairs.values()].map((p) => p.close()));
      this.#pairs.clear();
      throw err;
    }
    if (this.#state !== 'starting') return; // closed while binding
    this.#state = 'running';
    this.#core.events.on('participant-joined', this.#onJoined);
    this.#core.events.on('participant-removed', this.#onRemoved);
    this.#core.events.on('session-created', this.#onSessionChange);
    this.#core.events.on('session-empty', this.#onSessionChange);
    this.#core.setRelayPort(this);
    for (const name of this.#core.sessionNames()) this.#markDirty(name);
    this.#timers.every('hello', this.#timing.helloMs, () => this.#guard(() => this.#helloTick()));
    this.#timers.every('refresh', this.#timing.refreshMs, () => this.#guard(() => this.#refreshTick()));
    this.#helloTick();
    this.#logger.info('interconnect_started', {
      bootEpoch: this.#bootEpoch.toString(),
      peers: [...this.#peers.keys()],
      relayPorts: [...this.#pairs.keys()],
    });
  }

  reload(config: Config): void {
    if (config.listenAddress !== this.#config.listenAddress) {
      this.#logger.warn('interconnect_listen_address_unchanged', {
        note: 'LISTEN_ADDRESS changes need a restart', running: this.#config.listenAddress,
      });
      config = { ...config, listenAddress: this.#config.listenAddress };
    }
    this.#config = config;
    if (this.#state !== 'running') return;
    const binds = this.#applyPeers(config.peers);
    for (const b of binds) b.catch(() => undefined); // logged in #pairFor
    for (const peer of this.#peers.values()) {
      if (peer.lastHelloAt === undefined) this.#sendHello(peer); // skipped until its pair is bound
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    this.#timers.dispose();
    if (this.#flushHandle !== undefined) clearImmediate(this.#flushHandle);
    this.#flushHandle = undefined;
    if (this.#helloHandle !== undefined) clearImmediate(this.#helloHandle);
    this.#helloHandle = undefined;
    if (wasRunning) {
      this.#core.setRelayPort(null);
      this.#core.events.off('participant-joined', this.#onJoined);
      this.#core.events.off('participant-removed', this.#onRemoved);
      this.#core.events.off('session-created', this.#onSessionChange);
      this.#core.events.off('session-empty', this.#onSessionChange);
      // SPEC §2/§6: leaving gracefully tells every peer COUNT 0.
      for (const session of this.#sessions.values()) {
        for (const peer of this.#peers.values()) {
          if (session.sent.has(peer.key)) this.#sendSessionState(peer, session, EMPTY_STATE);
        }
        session.sent.clear();
      }
      await this.#drainSends(CLOSE_FLUSH_MS);
    }
    await Promise.all([...this.#pairs.values(), ...this.#retiredPairs].map((p) => p.close()));
    this.#pairs.clear();
    this.#retiredPairs.clear();
    this.#state = 'closed';
    this.#logger.info('interconnect_closed', {});
  }

  // ─── InterconnectLink ───────────────────────────────────────────────────

  peersWithParticipants(session: string): readonly string[] {
    return this.#sessions.get(session)?.wantingKeys ?? [];
  }

  /** Participants of `session` at other reflectors: version-1 peers' COUNTs plus every reachable origin's count. */
  remoteCount(session: string): number {
    let n = this.#legacyCount(session, null);
    for (const origin of this.#routes.keys()) n += this.#originCount(session, origin);
    return n;
  }

  sendRflx(key: string, subtype: number, fields: RflxFields): void {
    if (subtype !== RflxSubtype.PeerShareAnnounce && subtype !== RflxSubtype.PeerShareEnd &&
        subtype !== RflxSubtype.PeerFileAnnounce) {
      this.#logger.warn('interconnect_send_rflx_refused', { subtype, note: 'only subtypes 18-20' });
      return;
    }
    const peer = this.#peers.get(key);
    if (peer === undefined || this.#state !== 'running') return;
    this.#sendControl(peer, subtype, fields);
  }

  peerAddress(key: string): string | undefined {
    return this.#peers.get(key)?.address;
  }

  peers(): readonly PeerSnapshot[] {
    return [...this.#peers.values()].map((p) => p.snapshot());
  }

  drops(): Readonly<Record<string, number>> {
    return this.#drops.snapshot();
  }

  // ─── RelayPort (hot path) ───────────────────────────────────────────────

  /** A local participant's datagram (the core calls this; relayed ones are relayed on in #onRelay). */
  forward(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    const entry = this.#sessions.get(session);
    if (entry === undefined) return;
    this.#sender.relayOut(entry, MEDIUM_INDEX[medium], rtcp, packet, 1, this.#nodeId, -1, null);
  }

  // ─── Receiving ──────────────────────────────────────────────────────────

  readonly #onDatagram = (pair: RelaySocketPair, rtcp: boolean, msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.#state !== 'running') return; // closing: COUNT 0 is on its way out
    try {
      const peer = pair.peers.get(rinfo.address);
      if (peer === undefined) {
        this.#drop(InterconnectDrop.NotPeer, rinfo.address);
        return;
      }
      if (isRelayShim(msg)) {
        this.#onRelay(peer, rtcp, msg);
      } else if (msg.length > 0 && (msg[0] & 0xc0) === 0x80) {
        if (rtcp) this.#onControl(peer, msg);
        else this.#drop(InterconnectDrop.ControlOnRtpPort, peer.key);
      } else {
        this.#drop(InterconnectDrop.UnknownDatagram, peer.key);
      }
    } catch (err) {
      this.#drop(InterconnectDrop.Internal);
      this.#logger.error('interconnect_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  };

  readonly #onSocketError = (err: Error): void => {
    this.#drop(InterconnectDrop.SocketError, (err as NodeJS.ErrnoException).code ?? err.message);
  };

  #onRelay(peer: Peer, rtcp: boolean, msg: Buffer): void {
    const shim = this.#shimIn;
    const bad = parseRelayShim(msg, shim); // also drops hop counts above RELAY_MAX_HOPS
    if (bad !== null) {
      this.#drop(bad, peer.key);
      return;
    }
    let payload: Buffer;
    if (peer.secret !== undefined) {
      // The protected relay: only version 3, authenticated and not replayed, counts as the peer's.
      if (shim.version !== RELAY_SHIM_VERSION3) {
        this.#drop(InterconnectDrop.RelayUnprotected, peer.key);
        return;
      }
      const opener = peer.opener;
      if (opener === undefined) {
        this.#drop(InterconnectDrop.RelayNoKey, peer.key);
        return;
      }
      if (!opener.fresh(shim.seq)) {
        this.#drop(InterconnectDrop.RelayReplayed, peer.key);
        return;
      }
      const end = msg.length - RELAY_SHIM3_TAG_SIZE;
      const plain = opener.open(shim.seq, msg.subarray(0, RELAY_SHIM3_SIZE), msg.subarray(RELAY_SHIM3_SIZE, end), msg.subarray(end));
      if (plain === null) {
        this.#drop(InterconnectDrop.RelayAuthFailed, peer.key);
        return;
      }
      opener.accept(shim.seq);
      payload = plain;
    } else {
      if (shim.version === RELAY_SHIM_VERSION3) {
        this.#drop(InterconnectDrop.RelayNoKey, peer.key); // protected, but we have no secret for this peer
        return;
      }
      payload = msg.subarray(shim.payloadOffset, shim.payloadOffset + shim.payloadLength);
    }
    const session = peer.sessionByRelayId.get(shim.relayId);
    if (session === undefined) {
      this.#drop(InterconnectDrop.RelayUnknownSession, peer.key);
      return;
    }
    const m = shim.medium;
    const hop = shim.hopCount + 1;
    const entry = this.#sessions.get(session) ?? this.#ensureSession(session);
    if (shim.version === RELAY_SHIM_VERSION) {
      // A version-1 peer's media enters here: we are its origin for version-2 peers.
      peer.relayPacketsIn++;
      peer.relayBytesIn += msg.length;
      this.#core.injectRelayed(session, MEDIUM_BY_INDEX[m], rtcp, payload);
      this.#sender.relayOut(entry, m, rtcp, payload, hop, this.#nodeId, -1, peer);
      return;
    }
    const origin = shim.origin;
    if (origin === this.#nodeId) {
      this.#drop(InterconnectDrop.RelayOwnOrigin, peer.key);
      return;
    }
    let windows = entry.windows.get(origin);
    if (windows === undefined) {
      if (entry.windows.size >= MAX_ORIGINS_PER_SESSION) {
        this.#drop(InterconnectDrop.RelayTooManyOrigins, peer.key);
        return;
      }
      windows = [new DupWindow(), new DupWindow(), new DupWindow(), new DupWindow()];
      entry.windows.set(origin, windows);
    }
    const verdict = windows[m * 2 + (rtcp ? 1 : 0)].check(shim.originSeq);
    if (verdict !== DupVerdict.New) {
      this.#drop(verdict === DupVerdict.Duplicate ? InterconnectDrop.RelayDuplicate : InterconnectDrop.RelayTooOld, peer.key);
      return;
    }
    peer.relayPacketsIn++;
    peer.relayBytesIn += msg.length;
    this.#core.injectRelayed(session, MEDIUM_BY_INDEX[m], rtcp, payload);
    this.#sender.relayOut(entry, m, rtcp, payload, hop, origin, shim.originSeq, peer);
  }

  #onControl(peer: Peer, msg: Buffer): void {
    const now = Date.now();
    const control = readControl(msg, peer.secret, now);
    if (typeof control === 'string') return this.#drop(control, peer.key);
    const { message, routes, origins, joins } = control;
    const f = message.fields;
    // BOOT_EPOCH (in HELLO, and in every packet we send): a new one is a restart.
    const epoch = f.bootEpoch;
    if (epoch !== undefined && epoch !== peer.epoch) {
      if (peer.secret !== undefined && peer.up && peer.epoch !== undefined && epoch < peer.epoch) {
        return this.#drop(InterconnectDrop.StaleEpoch, peer.key);
      }
      const restarted = peer.epoch !== undefined;
      peer.epoch = epoch;
      peer.seqWindow.reset();
      if (restarted) this.#onPeerRestart(peer);
    }
    if (peer.secret !== undefined && f.seq !== undefined && !peer.seqWindow.accept(f.seq)) {
      return this.#drop(InterconnectDrop.ReplayedSeq, peer.key);
    }
    switch (message.subtype) {
      case RflxSubtype.Hello:
        this.#onHello(peer, f.reflectorId ?? '', now, f.nodeId, routes);
        break;
      case RflxSubtype.SessionState:
        this.#onSessionState(peer, f.session ?? '', f.relayId ?? 0, f.count ?? 0, now, origins, joins);
        break;
      default:
        this.events.emit('peer-rflx', peer.key, message);
    }
  }

  #onHello(peer: Peer, reflectorId: string, now: number, nodeId: number | undefined, routes: Map<number, number> | undefined): void {
    peer.id = reflectorId;
    peer.lastHelloAt = now;
    const h = this.#timing.helloMs;
    this.#timers.set(`down:${peer.key}`, MISSED_HELLOS * h + h / 2, () => this.#guard(() => this.#peerDown(peer)));
    if (nodeId !== undefined && nodeId === this.#nodeId) {
      // Two reflectors drew the same random NODE_ID (or a reflector peers with itself): we take a new one.
      this.#nodeId = randomInt(1, 0x1_0000_0000);
      this.#logger.warn('interconnect_node_id_collision', { peer: peer.key, nodeId: this.#nodeId });
      for (const p of this.#peers.values()) this.#updateKeys(p);
      this.#routesChanged();
    }
    if (peer.secret !== undefined && nodeId === undefined) {
      // A link with a secret protects relayed media (version 3); a peer of the previous format cannot.
      this.#drop(InterconnectDrop.PeerVersionRefused, peer.key);
      this.#dropLog.warn(`refused:${peer.key}`, 'peer_protocol_refused', {
        peer: peer.key, id: reflectorId,
        note: 'HELLO without NODE_ID: a peer of the previous interconnection format, which sends relayed media unprotected; not brought up — upgrade it, or remove the secret of this link',
      });
      this.#timers.clear(`down:${peer.key}`);
      if (peer.up) this.#peerDown(peer);
      return;
    }
    const versionChanged = peer.v2 !== (nodeId !== undefined) || (peer.nodeId !== undefined && peer.nodeId !== nodeId);
    if (versionChanged && nodeId === undefined) {
      this.#logger.info('peer_protocol_v1', { peer: peer.key, note: 'no NODE_ID: relaying as in version 1 (trees only through this peer)' });
    }
    peer.nodeId = nodeId;
    this.#updateKeys(peer);
    const routesChanged = !sameMap(peer.routes, routes ?? EMPTY_ROUTES);
    if (routesChanged) peer.routes = routes ?? new Map();
    const cameUp = !peer.up;
    if (cameUp) {
      peer.up = true;
      this.#logger.info('peer_up', { peer: peer.key, id: reflectorId, bootEpoch: peer.epoch?.toString(), nodeId });
      this.events.emit('peer-up', peer.key);
    }
    if (cameUp || routesChanged || versionChanged) this.#recomputeRoutes();
    if (versionChanged) for (const entry of this.#sessions.values()) this.#rebuildTargets(entry);
    // Its ROUTES say which origins it reaches through us: what we announce to it may change.
    if (routesChanged || versionChanged) this.#markAllDirty();
    if (cameUp) {
      this.#sendHello(peer); // so that it sees us at once too
      this.#announceAll(peer);
    }
  }

  #onPeerRestart(peer: Peer): void {
    this.#logger.info('peer_restarted', { peer: peer.key, bootEpoch: peer.epoch?.toString() });
    // New BOOT_EPOCH: new keys, once its HELLO (with its new NODE_ID) is here.
    peer.nodeId = undefined;
    this.#updateKeys(peer);
    this.#forgetPeerSessions(peer);
    this.events.emit('peer-restarted', peer.key);
    for (const s of this.#sessions.values()) s.sent.delete(peer.key);
    peer.routes = new Map();
    this.#recomputeRoutes();
    if (peer.up) {
      this.#sendHello(peer);
      this.#announceAll(peer);
    }
  }

  #peerDown(peer: Peer): void {
    if (!peer.up) return;
    peer.up = false;
    this.#logger.info('peer_down', { peer: peer.key, id: peer.id, lastHelloAt: peer.lastHelloAt });
    this.#forgetPeerSessions(peer);
    for (const s of this.#sessions.values()) s.sent.delete(peer.key);
    peer.routes = new Map();
    this.#recomputeRoutes();
    this.events.emit('peer-down', peer.key);
  }

  #onSessionState(peer: Peer, name: string, relayId: number, count: number, now: number,
    origins: Map<number, number> | undefined, joins: Set<number> | undefined): void {
    const o = origins ?? EMPTY_ROUTES;
    const j = joins ?? EMPTY_JOINS;
    if ((count > 0 || j.size > 0) && !peer.sessions.has(name) && peer.sessions.size >= this.#config.maxSessions) {
      return this.#drop(InterconnectDrop.TooManySessions, peer.key);
    }
    const holder = peer.sessionByRelayId.get(relayId);
    if (holder !== undefined && holder !== name) this.#setRemote(peer, holder, 0, 0, now);
    this.#setRemote(peer, name, relayId, count, now, o, j);
  }

  /** Records a peer's SESSION_STATE for a session and propagates the consequences. */
  #setRemote(peer: Peer, name: string, relayId: number, count: number, now: number,
    origins: ReadonlyMap<number, number> = EMPTY_ROUTES, joins: ReadonlySet<number> = EMPTY_JOINS): void {
    const before = peer.sessions.get(name);
    const same = before !== undefined && before.count === count && before.relayId === relayId &&
      sameMap(before.origins, origins) && sameSet(before.joins, joins);
    const prev = peer.setSession(name, relayId, count, now, origins, joins);
    if (same || (before === undefined && count === 0 && joins.size === 0)) return;
    if (count > 0 || joins.size > 0) this.#ensureSession(name);
    const entry = this.#sessions.get(name);
    if (entry !== undefined) this.#rebuildTargets(entry);
    if (prev !== count) this.events.emit('remote-count', name, peer.key, count);
    this.#markDirty(name);
  }

  #forgetPeerSessions(peer: Peer): void {
    for (const name of peer.clearSessions()) {
      const entry = this.#sessions.get(name);
      if (entry !== undefined) this.#rebuildTargets(entry);
      this.events.emit('remote-count', name, peer.key, 0);
      this.#markDirty(name);
    }
  }

  // ─── Protected relay keys ───────────────────────────────────────────────

  /**
   * (Re)derives a secret peer's relay keys when the secret, a NODE_ID or a BOOT_EPOCH changed
   * (docs/protocol.md "Protected relay"); without all of them there are no keys.
   */
  #updateKeys(peer: Peer): void {
    updateRelayKeys(peer, this.#nodeId, this.#bootEpoch);
  }

  // ─── Routing ────────────────────────────────────────────────────────────

  /**
   * Distance vector over the version-2 peers that are up: metric + 1 through each,
   * the lowest metric wins, ties go to the peer with the lower NODE_ID; METRIC 255
   * ("via you") and metrics above MAX_ROUTE_METRIC are unreachable.
   */
  #recomputeRoutes(): void {
    const next = computeRoutes(this.#peers.values(), this.#nodeId);
    if (sameRoutes(next, this.#routes)) return;
    this.#routes = next;
    this.#routesChanged();
  }

  /** Our ROUTES changed: tell every peer at once (coalesced), and re-announce sessions. */
  #routesChanged(): void {
    this.#markAllDirty();
    if (this.#state !== 'running') return;
    this.#helloHandle ??= setImmediate(() => {
      this.#helloHandle = undefined;
      this.#guard(() => { if (this.#state === 'running') this.#helloTick(); });
    });
  }

  /** ROUTES for `peer`: ourselves at 0, others at their metric, 255 for those we reach through it. */
  #routesFor(peer: Peer): Map<number, number> {
    return routesFor(this.#routes, this.#nodeId, peer);
  }

  #markAllDirty(): void {
    for (const name of this.#sessions.keys()) this.#markDirty(name);
    for (const name of this.#core.sessionNames()) this.#markDirty(name);
  }

  // ─── Announcing ─────────────────────────────────────────────────────────

  #markDirty(name: string): void {
    if (this.#state !== 'running') return;
    this.#dirty.add(name);
    this.#flushHandle ??= setImmediate(() => {
      this.#flushHandle = undefined;
      this.#guard(() => this.#flush());
    });
  }

  /** Sends SESSION_STATE wherever what we announce changed (SPEC §6: at once). */
  #flush(): void {
    if (this.#state !== 'running') return;
    const names = [...this.#dirty];
    this.#dirty.clear();
    for (const name of names) {
      let entry = this.#sessions.get(name);
      if (entry === undefined) {
        if (this.#localCount(name) === 0 && this.#remoteState(name) === 0) continue;
        entry = this.#ensureSession(name);
      }
      for (const peer of this.#peers.values()) {
        const st = this.#stateFor(entry, peer);
        if (st.sig !== (entry.sent.get(peer.key)?.sig ?? EMPTY_STATE.sig)) this.#announce(peer, entry, st);
      }
      this.#collect(entry);
    }
  }

  /** Every refreshMs: SESSION_STATE for all sessions; forgets peer sessions nobody refreshed. */
  #refreshTick(): void {
    const now = Date.now();
    const r = this.#timing.refreshMs;
    const expiry = MISSED_REFRESHES * r + r / 2;
    for (const peer of this.#peers.values()) {
      for (const [name, s] of [...peer.sessions]) {
        if (now - s.at > expiry) {
          this.#logger.info('peer_session_expired', { peer: peer.key, session: name });
          this.#setRemote(peer, name, s.relayId, 0, now);
        }
      }
    }
    for (const entry of [...this.#sessions.values()]) {
      for (const peer of this.#peers.values()) {
        const st = this.#stateFor(entry, peer);
        if (st.count > 0 || (st.joins?.size ?? 0) > 0 || entry.sent.has(peer.key)) this.#announce(peer, entry, st);
      }
      this.#collect(entry);
    }
  }

  /** Everything we have, to one peer at once (it came up or restarted). */
  #announceAll(peer: Peer): void {
    for (const entry of this.#sessions.values()) {
      const st = this.#stateFor(entry, peer);
      if (st.count > 0 || (st.joins?.size ?? 0) > 0 || entry.sent.has(peer.key)) this.#announce(peer, entry, st);
    }
  }

  #announce(peer: Peer, entry: LocalSession, st: StateFor): void {
    this.#sendSessionState(peer, entry, st);
    const announced = entry.sent.has(peer.key);
    if (st.count > 0 || (st.joins?.size ?? 0) > 0) entry.sent.set(peer.key, { count: st.count, sig: st.sig });
    else entry.sent.delete(peer.key);
    if (entry.sent.has(peer.key) !== announced) this.#rebuildTargets(entry);
  }

  /** Drops a session nobody has any more, once every peer has heard that we left. */
  #collect(entry: LocalSession): void {
    if (this.#localCount(entry.name) > 0 || entry.sent.size > 0 || this.#remoteState(entry.name) > 0) return;
    this.#sessions.delete(entry.name);
    this.#relayIds.delete(entry.relayId);
  }

  /** Peers that announced anything for the session (COUNT or JOINS). */
  #remoteState(name: string): number {
    let n = 0;
    for (const peer of this.#peers.values()) if (peer.sessions.has(name)) n++;
    return n;
  }

  /** What we announce to `to` for a session (session-state.ts). */
  #stateFor(entry: LocalSession, to: Peer): StateFor {
    return stateFor(entry, to, this.#localCount(entry.name), this.#peers, this.#routes, this.#nodeId);
  }

  #originCount(name: string, origin: number): number {
    return originCount(this.#routes, name, origin);
  }

  #legacyCount(name: string, except: Peer | null): number {
    return legacyCount(this.#peers, name, except);
  }

  #localCount(name: string): number {
    return this.#core.participantIds(name).length;
  }

  #ensureSession(name: string): LocalSession {
    let entry = this.#sessions.get(name);
    if (entry === undefined) {
      let relayId: number;
      do relayId = randomInt(1, 0x1_0000_0000); while (this.#relayIds.has(relayId));
      this.#relayIds.add(relayId);
      entry = new LocalSession(name, relayId);
      this.#sessions.set(name, entry);
      this.#rebuildTargets(entry);
    }
    return entry;
  }

  #rebuildTargets(entry: LocalSession): void {
    rebuildTargets(entry, this.#peers);
  }

  // ─── Sending control ────────────────────────────────────────────────────

  #helloTick(): void {
    for (const peer of this.#peers.values()) this.#sendHello(peer);
  }

  #sendHello(peer: Peer): void {
    this.#sendControl(peer, RflxSubtype.Hello, {
      reflectorId: this.#config.reflectorId, nodeId: this.#nodeId, routes: encodeRoutes(this.#routesFor(peer)),
    });
  }

  #sendSessionState(peer: Peer, entry: LocalSession, st: StateFor): void {
    const fields: RflxFields = { session: entry.name, relayId: entry.relayId, count: st.count };
    if (peer.v2) {
      if (st.origins !== null && st.origins.size > 0) fields.origins = encodeOrigins(st.origins);
      if (st.joins !== null && st.joins.size > 0) fields.joins = encodeJoins(st.joins);
    }
    this.#sendControl(peer, RflxSubtype.SessionState, fields);
  }

  /**
   * Every control packet carries our BOOT_EPOCH (receivers that do not know it skip it), so a
   * restart is noticed from any packet; with a secret also TIMESTAMP, SEQ and AUTH (SPEC §6).
   */
  #sendControl(peer: Peer, subtype: number, fields: RflxFields): void {
    const pair = peer.pair;
    if (pair === undefined || !pair.ready) return;
    const all: RflxFields = { ...fields, bootEpoch: this.#bootEpoch };
    if (peer.secret !== undefined) {
      if (this.#seq === SEQ_MAX) this.#renewEpoch();
      all.timestamp = BigInt(Date.now());
      all.bootEpoch = this.#bootEpoch;
      all.seq = ++this.#seq;
    }
    const message: RflxMessage = { subtype, ssrc: 0, fields: all };
    let packet: Buffer;
    try {
      packet = encodeRflx(message, peer.secret);
    } catch (err) {
      // A caller's bug (sendRflx with a value out of range): refuse it, keep running.
      this.#logger.error('interconnect_encode_failed', { subtype, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.#pendingSends++;
    pair.rtcp.send(packet, peer.rtcpRelayPort, peer.sendAddress, (err) => {
      if (err) this.#drop(InterconnectDrop.SocketError, err.message);
      if (--this.#pendingSends === 0 && this.#sendsDrained !== undefined) this.#sendsDrained();
    });
  }

  /**
   * SEQ is u32 and must increase per BOOT_EPOCH (SPEC §6): at the end of its range a new
   * epoch starts. Peers treat it as a restart and forget what we announced, so everything
   * is announced again right after the HELLO that carries the new epoch.
   */
  #renewEpoch(): void {
    this.#bootEpoch = nextBootEpoch();
    this.#seq = 0;
    for (const peer of this.#peers.values()) this.#updateKeys(peer);
    this.#logger.info('interconnect_new_boot_epoch', { bootEpoch: this.#bootEpoch.toString(), reason: 'seq_exhausted' });
    setImmediate(() => this.#guard(() => {
      if (this.#state !== 'running') return;
      for (const peer of this.#peers.values()) {
        this.#sendHello(peer);
        for (const s of this.#sessions.values()) s.sent.delete(peer.key);
        this.#announceAll(peer);
      }
      for (const s of this.#sessions.values()) this.#rebuildTargets(s);
    }));
  }

  #drainSends(timeoutMs: number): Promise<void> {
    if (this.#pendingSends === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#sendsDrained = undefined;
        resolve();
      }
      this.#sendsDrained = done;
    });
  }

  // ─── Peers and sockets ──────────────────────────────────────────────────

  /** Makes the peer set equal to `configs`; returns the binds of new socket pairs. */
  #applyPeers(configs: readonly PeerConfig[]): Promise<void>[] {
    const desired = new Map<string, PeerConfig>();
    for (const c of configs) desired.set(peerKey(c.address, c.rtpRelayPort), c);
    for (const peer of [...this.#peers.values()]) {
      if (!desired.has(peer.key)) this.#removePeer(peer);
    }
    const binds: Promise<void>[] = [];
    for (const [key, c] of desired) {
      const existing = this.#peers.get(key);
      if (existing !== undefined) {
        if (existing.secret !== c.secret) {
          existing.secret = c.secret;
          existing.seqWindow.reset();
          this.#updateKeys(existing);
          this.#logger.info('peer_secret_changed', { peer: key });
        }
        continue;
      }
      const peer = new Peer(c);
      const { pair, bound } = this.#pairFor(c.rtpRelayPort);
      peer.pair = pair;
      peer.sendAddress = pair.sendAddressFor(peer);
      pair.addPeer(peer);
      this.#peers.set(key, peer);
      if (bound !== undefined) binds.push(bound);
      this.#logger.info('peer_added', { peer: key, authenticated: c.secret !== undefined });
    }
    for (const [port, pair] of [...this.#pairs]) {
      if (pair.peers.size === 0) {
        // Let COUNT 0 to the removed peers leave first.
        this.#pairs.delete(port);
        this.#retiredPairs.add(pair);
        this.#timers.set(`retire:${port}`, CLOSE_FLUSH_MS, () => {
          this.#retiredPairs.delete(pair);
          void pair.close();
        });
      }
    }
    for (const entry of this.#sessions.values()) this.#rebuildTargets(entry);
    return binds;
  }

  #pairFor(port: number): { pair: RelaySocketPair; bound?: Promise<void> } {
    const existing = this.#pairs.get(port);
    if (existing !== undefined) return { pair: existing };
    for (const retired of this.#retiredPairs) {
      if (retired.port !== port) continue;
      this.#timers.clear(`retire:${port}`);
      this.#retiredPairs.delete(retired);
      this.#pairs.set(port, retired);
      return { pair: retired };
    }
    const pair = new RelaySocketPair(this.#config.listenAddress, port, this.#onDatagram, this.#onSocketError);
    this.#pairs.set(port, pair);
    const bound = pair.bind(this.#config.listenAddress).then(() => {
      // Peers added by a reload get our HELLO as soon as their socket pair can send.
      if (this.#state !== 'running') return;
      for (const peer of this.#peers.values()) {
        if (peer.pair === pair) this.#sendHello(peer);
      }
    }, (err: unknown) => {
      this.#logger.error('relay_bind_failed', {
        address: this.#config.listenAddress, port, error: err instanceof Error ? err.message : String(err),
      });
      if (this.#pairs.get(port) === pair) this.#pairs.delete(port);
      // At run time (reload) the peers of a port we cannot bind are dropped again.
      if (this.#state === 'running') {
        for (const peer of [...this.#peers.values()]) {
          if (peer.pair === pair) this.#removePeer(peer);
        }
      }
      throw err;
    });
    return { pair, bound };
  }

  #removePeer(peer: Peer): void {
    if (this.#state === 'running') {
      for (const entry of this.#sessions.values()) {
        if (entry.sent.has(peer.key)) this.#sendSessionState(peer, entry, EMPTY_STATE);
      }
    }
    this.#timers.clear(`down:${peer.key}`);
    this.#peers.delete(peer.key);
    for (const s of this.#sessions.values()) s.sent.delete(peer.key);
    this.#forgetPeerSessions(peer);
    const wasUp = peer.up;
    peer.up = false;
    peer.routes = new Map();
    this.#recomputeRoutes();
    if (wasUp) this.events.emit('peer-down', peer.key);
    peer.pair?.removePeer(peer);
    this.#logger.info('peer_removed', { peer: peer.key });
  }

  // ─── Drops and guards ───────────────────────────────────────────────────

  #drop(reason: string, detail?: string): void {
    this.#drops.add(reason);
    this.#dropLog.warn(reason, 'interconnect_drop', { reason, detail, total: this.#drops.get(reason) });
  }

  /** Backstop for our own bugs in timer and immediate callbacks. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#drops.add(InterconnectDrop.Internal);
      this.#logger.error('interconnect_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  }
}
