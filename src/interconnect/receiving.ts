/**
 * Receiving (SPEC §6): every datagram on a relay socket pair. Relay datagrams (shim magic) are the
 * hot path: checked, opened when protected, de-duplicated per origin and flow, handed to the core
 * for local fan-out and relayed on by the RelaySender; RelayPort.forward() is the same path for a
 * local participant's datagram. Control packets (RTCP APP RFLX on the RTCP port) bring HELLO
 * (peer up, restarts, routes, NODE_ID collisions) and SESSION_STATE; subtypes 18–20 go to the proxy.
 *
 * The hot path reads only fields of this object (no lookup through the context per packet): the
 * sessions map, the sender and the core are kept here, and NODE_ID is owned here.
 */
import { randomInt } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import type { Medium, ReflectorCore } from '../reflector/api.js';
import {
  RELAY_SHIM3_SIZE,
  RELAY_SHIM3_TAG_SIZE,
  RELAY_SHIM_VERSION,
  RELAY_SHIM_VERSION3,
  RelayShim,
  isRelayShim,
  parseRelayShim,
} from '../rtp/relay-shim.js';
import { RflxSubtype } from '../rtp/rflx-types.js';
import type { InterconnectContext, ReceivingPart } from './context.js';
import { readControl } from './control-in.js';
import { InterconnectDrop } from './drop-reasons.js';
import { DupVerdict, DupWindow } from './dup-window.js';
import { MEDIUM_BY_INDEX, MEDIUM_INDEX, type LocalSession } from './local-session.js';
import type { Peer } from './peer.js';
import type { RelaySender } from './relay-sender.js';
import type { RelaySocketPair } from './relay-socket-pair.js';
import { sameMap, sameSet } from './routing.js';
import { MISSED_HELLOS } from './timing.js';

/** Origins a session keeps duplicate windows for. */
const MAX_ORIGINS_PER_SESSION = 1024;

const EMPTY_ROUTES: ReadonlyMap<number, number> = new Map();
const EMPTY_JOINS: ReadonlySet<number> = new Set();

/** Datagrams from peers, and the core's RelayPort (see the file comment). */
export class Receiving implements ReceivingPart {
  readonly #c: InterconnectContext;
  readonly #sessions: Map<string, LocalSession>;
  readonly #sender: RelaySender;
  readonly #core: ReflectorCore;
  readonly #shimIn = new RelayShim();
  /** Our NODE_ID (docs/protocol.md): random, never 0; renewed if a peer has the same (#onHello). */
  #nodeId = randomInt(1, 0x1_0000_0000);
  /**
   * Datagrams are handled only while the interconnect runs (closing: COUNT 0 is on its way out).
   * InterconnectImpl sets it with its state, so the hot path does not look the state up.
   */
  accepting = false;

  constructor(c: InterconnectContext) {
    this.#c = c;
    this.#sessions = c.sessions;
    this.#sender = c.sender;
    this.#core = c.core;
  }

  get nodeId(): number { return this.#nodeId; }

  // ─── Relay (hot path) ───────────────────────────────────────────────────

  /** A local participant's datagram (the core calls this; relayed ones are relayed on in #onRelay). */
  forward(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    const entry = this.#sessions.get(session);
    if (entry === undefined) return;
    this.#sender.relayOut(entry, MEDIUM_INDEX[medium], rtcp, packet, 1, this.#nodeId, -1, null);
  }

  readonly onDatagram = (pair: RelaySocketPair, rtcp: boolean, msg: Buffer, rinfo: RemoteInfo): void => {
    if (!this.accepting) return;
    try {
      const peer = pair.peers.get(rinfo.address);
      if (peer === undefined) {
        this.#c.drop(InterconnectDrop.NotPeer, rinfo.address);
        return;
      }
      if (isRelayShim(msg)) {
        this.#onRelay(peer, rtcp, msg);
      } else if (msg.length > 0 && (msg[0] & 0xc0) === 0x80) {
        if (rtcp) this.#onControl(peer, msg);
        else this.#c.drop(InterconnectDrop.ControlOnRtpPort, peer.key);
      } else {
        this.#c.drop(InterconnectDrop.UnknownDatagram, peer.key);
      }
    } catch (err) {
      this.#c.drop(InterconnectDrop.Internal);
      this.#c.logger.error('interconnect_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  };

  readonly onSocketError = (err: Error): void => {
    this.#c.drop(InterconnectDrop.SocketError, (err as NodeJS.ErrnoException).code ?? err.message);
  };

  #onRelay(peer: Peer, rtcp: boolean, msg: Buffer): void {
    const shim = this.#shimIn;
    const bad = parseRelayShim(msg, shim); // also drops hop counts above RELAY_MAX_HOPS
    if (bad !== null) {
      this.#c.drop(bad, peer.key);
      return;
    }
    let payload: Buffer;
    if (peer.secret !== undefined) {
      // The protected relay: only version 3, authenticated and not replayed, counts as the peer's.
      if (shim.version !== RELAY_SHIM_VERSION3) {
        this.#c.drop(InterconnectDrop.RelayUnprotected, peer.key);
        return;
      }
      const opener = peer.opener;
      if (opener === undefined) {
        this.#c.drop(InterconnectDrop.RelayNoKey, peer.key);
        return;
      }
      if (!opener.fresh(shim.seq)) {
        this.#c.drop(InterconnectDrop.RelayReplayed, peer.key);
        return;
      }
      const end = msg.length - RELAY_SHIM3_TAG_SIZE;
      const plain = opener.open(shim.seq, msg.subarray(0, RELAY_SHIM3_SIZE), msg.subarray(RELAY_SHIM3_SIZE, end), msg.subarray(end));
      if (plain === null) {
        this.#c.drop(InterconnectDrop.RelayAuthFailed, peer.key);
        return;
      }
      opener.accept(shim.seq);
      payload = plain;
    } else {
      if (shim.version === RELAY_SHIM_VERSION3) {
        this.#c.drop(InterconnectDrop.RelayNoKey, peer.key); // protected, but we have no secret for this peer
        return;
      }
      payload = msg.subarray(shim.payloadOffset, shim.payloadOffset + shim.payloadLength);
    }
    const session = peer.sessionByRelayId.get(shim.relayId);
    if (session === undefined) {
      this.#c.drop(InterconnectDrop.RelayUnknownSession, peer.key);
      return;
    }
    const m = shim.medium;
    const hop = shim.hopCount + 1;
    const entry = this.#sessions.get(session) ?? this.#c.announcing.ensureSession(session);
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
      this.#c.drop(InterconnectDrop.RelayOwnOrigin, peer.key);
      return;
    }
    let windows = entry.windows.get(origin);
    if (windows === undefined) {
      if (entry.windows.size >= MAX_ORIGINS_PER_SESSION) {
        this.#c.drop(InterconnectDrop.RelayTooManyOrigins, peer.key);
        return;
      }
      windows = [new DupWindow(), new DupWindow(), new DupWindow(), new DupWindow()];
      entry.windows.set(origin, windows);
    }
    const verdict = windows[m * 2 + (rtcp ? 1 : 0)].check(shim.originSeq);
    if (verdict !== DupVerdict.New) {
      this.#c.drop(verdict === DupVerdict.Duplicate ? InterconnectDrop.RelayDuplicate : InterconnectDrop.RelayTooOld, peer.key);
      return;
    }
    peer.relayPacketsIn++;
    peer.relayBytesIn += msg.length;
    this.#core.injectRelayed(session, MEDIUM_BY_INDEX[m], rtcp, payload);
    this.#sender.relayOut(entry, m, rtcp, payload, hop, origin, shim.originSeq, peer);
  }

  // ─── Control packets ────────────────────────────────────────────────────

  #onControl(peer: Peer, msg: Buffer): void {
    const now = Date.now();
    const control = readControl(msg, peer.secret, now);
    if (typeof control === 'string') return this.#c.drop(control, peer.key);
    const { message, routes, origins, joins } = control;
    const f = message.fields;
    // BOOT_EPOCH (in HELLO, and in every packet we send): a new one is a restart.
    const epoch = f.bootEpoch;
    if (epoch !== undefined && epoch !== peer.epoch) {
      if (peer.secret !== undefined && peer.up && peer.epoch !== undefined && epoch < peer.epoch) {
        return this.#c.drop(InterconnectDrop.StaleEpoch, peer.key);
      }
      const restarted = peer.epoch !== undefined;
      peer.epoch = epoch;
      peer.seqWindow.reset();
      if (restarted) this.#onPeerRestart(peer);
    }
    if (peer.secret !== undefined && f.seq !== undefined && !peer.seqWindow.accept(f.seq)) {
      return this.#c.drop(InterconnectDrop.ReplayedSeq, peer.key);
    }
    switch (message.subtype) {
      case RflxSubtype.Hello:
        this.#onHello(peer, f.reflectorId ?? '', now, f.nodeId, routes);
        break;
      case RflxSubtype.SessionState:
        this.#onSessionState(peer, f.session ?? '', f.relayId ?? 0, f.count ?? 0, now, origins, joins);
        break;
      default:
        this.#c.events.emit('peer-rflx', peer.key, message);
    }
  }

  #onHello(peer: Peer, reflectorId: string, now: number, nodeId: number | undefined, routes: Map<number, number> | undefined): void {
    const c = this.#c;
    peer.id = reflectorId;
    peer.lastHelloAt = now;
    const h = c.timing.helloMs;
    c.timers.set(`down:${peer.key}`, MISSED_HELLOS * h + h / 2, () => c.guard(() => this.#peerDown(peer)));
    if (nodeId !== undefined && nodeId === this.#nodeId) {
      // Two reflectors drew the same random NODE_ID (or a reflector peers with itself): we take a new one.
      this.#nodeId = randomInt(1, 0x1_0000_0000);
      c.logger.warn('interconnect_node_id_collision', { peer: peer.key, nodeId: this.#nodeId });
      for (const p of c.peers.values()) c.updateKeys(p);
      c.announcing.routesChanged();
    }
    if (peer.secret !== undefined && nodeId === undefined) {
      // A link with a secret protects relayed media (version 3); a peer of the previous format cannot.
      c.drop(InterconnectDrop.PeerVersionRefused, peer.key);
      c.dropLog.warn(`refused:${peer.key}`, 'peer_protocol_refused', {
        peer: peer.key, id: reflectorId,
        note: 'HELLO without NODE_ID: a peer of the previous interconnection format, which sends relayed media unprotected; not brought up — upgrade it, or remove the secret of this link',
      });
      c.timers.clear(`down:${peer.key}`);
      if (peer.up) this.#peerDown(peer);
      return;
    }
    const versionChanged = peer.v2 !== (nodeId !== undefined) || (peer.nodeId !== undefined && peer.nodeId !== nodeId);
    if (versionChanged && nodeId === undefined) {
      c.logger.info('peer_protocol_v1', { peer: peer.key, note: 'no NODE_ID: relaying as in version 1 (trees only through this peer)' });
    }
    peer.nodeId = nodeId;
    c.updateKeys(peer);
    const routesChanged = !sameMap(peer.routes, routes ?? EMPTY_ROUTES);
    if (routesChanged) peer.routes = routes ?? new Map();
    const cameUp = !peer.up;
    if (cameUp) {
      peer.up = true;
      c.logger.info('peer_up', { peer: peer.key, id: reflectorId, bootEpoch: peer.epoch?.toString(), nodeId });
      c.events.emit('peer-up', peer.key);
    }
    if (cameUp || routesChanged || versionChanged) c.announcing.recomputeRoutes();
    if (versionChanged) for (const entry of c.sessions.values()) c.announcing.rebuildTargets(entry);
    // Its ROUTES say which origins it reaches through us: what we announce to it may change.
    if (routesChanged || versionChanged) c.announcing.markAllDirty();
    if (cameUp) {
      c.control.sendHello(peer); // so that it sees us at once too
      c.announcing.announceAll(peer);
    }
  }

  #onPeerRestart(peer: Peer): void {
    const c = this.#c;
    c.logger.info('peer_restarted', { peer: peer.key, bootEpoch: peer.epoch?.toString() });
    // New BOOT_EPOCH: new keys, once its HELLO (with its new NODE_ID) is here.
    peer.nodeId = undefined;
    c.updateKeys(peer);
    this.forgetPeerSessions(peer);
    c.events.emit('peer-restarted', peer.key);
    for (const s of c.sessions.values()) s.sent.delete(peer.key);
    peer.routes = new Map();
    c.announcing.recomputeRoutes();
    if (peer.up) {
      c.control.sendHello(peer);
      c.announcing.announceAll(peer);
    }
  }

  #peerDown(peer: Peer): void {
    if (!peer.up) return;
    const c = this.#c;
    peer.up = false;
    c.logger.info('peer_down', { peer: peer.key, id: peer.id, lastHelloAt: peer.lastHelloAt });
    this.forgetPeerSessions(peer);
    for (const s of c.sessions.values()) s.sent.delete(peer.key);
    peer.routes = new Map();
    c.announcing.recomputeRoutes();
    c.events.emit('peer-down', peer.key);
  }

  #onSessionState(peer: Peer, name: string, relayId: number, count: number, now: number,
    origins: Map<number, number> | undefined, joins: Set<number> | undefined): void {
    const o = origins ?? EMPTY_ROUTES;
    const j = joins ?? EMPTY_JOINS;
    if ((count > 0 || j.size > 0) && !peer.sessions.has(name) && peer.sessions.size >= this.#c.config.maxSessions) {
      return this.#c.drop(InterconnectDrop.TooManySessions, peer.key);
    }
    const holder = peer.sessionByRelayId.get(relayId);
    if (holder !== undefined && holder !== name) this.setRemote(peer, holder, 0, 0, now);
    this.setRemote(peer, name, relayId, count, now, o, j);
  }

  /** Records a peer's SESSION_STATE for a session and propagates the consequences. */
  setRemote(peer: Peer, name: string, relayId: number, count: number, now: number,
    origins: ReadonlyMap<number, number> = EMPTY_ROUTES, joins: ReadonlySet<number> = EMPTY_JOINS): void {
    const c = this.#c;
    const before = peer.sessions.get(name);
    const same = before !== undefined && before.count === count && before.relayId === relayId &&
      sameMap(before.origins, origins) && sameSet(before.joins, joins);
    const prev = peer.setSession(name, relayId, count, now, origins, joins);
    if (same || (before === undefined && count === 0 && joins.size === 0)) return;
    if (count > 0 || joins.size > 0) c.announcing.ensureSession(name);
    const entry = c.sessions.get(name);
    if (entry !== undefined) c.announcing.rebuildTargets(entry);
    if (prev !== count) c.events.emit('remote-count', name, peer.key, count);
    c.announcing.markDirty(name);
  }

  /** A peer that went (down, restarted, removed) has no sessions any more. */
  forgetPeerSessions(peer: Peer): void {
    const c = this.#c;
    for (const name of peer.clearSessions()) {
      const entry = c.sessions.get(name);
      if (entry !== undefined) c.announcing.rebuildTargets(entry);
      c.events.emit('remote-count', name, peer.key, 0);
      c.announcing.markDirty(name);
    }
  }
}
