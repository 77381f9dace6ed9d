/**
 * Reflector interconnection (SPEC §6, §7 subtypes 16–20).
 *
 *   core ──forward()──▶ Interconnect ──[shim|packet]──▶ peer relay ports (UDP port, port+1)
 *   core ◀─injectRelayed()── Interconnect ◀──[shim|packet]── peers
 *                            Interconnect ◀─▶ peers: RTCP APP RFLX HELLO / SESSION_STATE (+18–20)
 *
 * Control: HELLO every helloMs (peer down after 3 missed; a new BOOT_EPOCH is a
 * restart and everything is re-announced at once), SESSION_STATE when a count
 * changes (at once, coalesced per event-loop turn) and every refreshMs.
 * COUNT towards peer P = local participants + counts learned from peers other
 * than P (split horizon), so trees of reflectors work.
 *
 * Relay: media of session S goes to P only while P's last COUNT for S is > 0,
 * never back to the peer it came from, with hop count + 1 (dropped above
 * RELAY_MAX_HOPS). Shims are precomputed per (session, medium, hop) and never
 * mutated, so the hot path sends [shim, packet] without allocating.
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
import { isValidSessionName } from '../rtp/session-name.js';
import {
  RELAY_MAX_HOPS,
  RELAY_SHIM_MAGIC,
  RELAY_SHIM_SIZE,
  RelayMedium,
  RelayShim,
  parseRelayShim,
  writeRelayShim,
} from '../rtp/relay-shim.js';
import { encodeRflx, findRflxApp, parseRflx, verifyRflxAuth } from '../rtp/rflx.js';

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

export const DEFAULT_TIMING: InterconnectTiming = { helloMs: 5000, refreshMs: 5000 };
/** SPEC §6: a peer is down after 3 missed HELLOs. */
export const MISSED_HELLOS = 3;
/** SPEC §6: TIMESTAMP within ±60 s of the receiver's clock. */
export const TIMESTAMP_TOLERANCE_MS = 60_000;
/** A peer's session not refreshed for this many refresh intervals is forgotten (a lost COUNT 0). */
export const MISSED_REFRESHES = 3;
/** The largest SEQ (u32). */
const SEQ_MAX = 0xffff_ffff;
/** close() waits at most this long for the final COUNT 0 packets to leave. */
const CLOSE_FLUSH_MS = 500;
/** Input defects are logged at most once per reason per interval. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Index of a medium in per-medium tables: its shim medium number (SPEC §6: 0 audio, 1 video). */
const MEDIUM_INDEX: Readonly<Record<Medium, RelayMedium>> = { audio: RelayMedium.Audio, video: RelayMedium.Video };
const MEDIUM_BY_INDEX: readonly Medium[] = ['audio', 'video'];

let lastBootEpoch = 0n;
/** ms since epoch at start, strictly increasing within a process (tests restart instances quickly). */
function nextBootEpoch(): bigint {
  let epoch = BigInt(Date.now());
  if (epoch <= lastBootEpoch) epoch = lastBootEpoch + 1n;
  lastBootEpoch = epoch;
  return epoch;
}

/** Our side of one session known to the interconnect (local participants or learned from peers). */
class LocalSession {
  readonly name: string;
  /** Our RELAY_ID for the session: what our relay datagrams carry. */
  readonly relayId: number;
  /** Shim per (medium, hop): index MEDIUM_INDEX * RELAY_MAX_HOPS + hop - 1. Constant bytes. */
  readonly shims: Buffer[];
  /** Last COUNT sent to each peer (absent = 0). */
  readonly sent = new Map<string, number>();
  /** Peers whose last COUNT for the session is > 0: they want its media and announcements. */
  wanting: Peer[] = [];
  /** Those of `wanting` that already got our SESSION_STATE for the session: its media goes to them. */
  relayTo: Peer[] = [];
  wantingKeys: string[] = [];

  constructor(name: string, relayId: number) {
    this.name = name;
    this.relayId = relayId;
    const block = Buffer.alloc(RELAY_SHIM_SIZE * RELAY_MAX_HOPS * MEDIUM_BY_INDEX.length);
    this.shims = [];
    for (let m = 0; m < MEDIUM_BY_INDEX.length; m++) {
      for (let hop = 1; hop <= RELAY_MAX_HOPS; hop++) {
        const offset = (m * RELAY_MAX_HOPS + hop - 1) * RELAY_SHIM_SIZE;
        writeRelayShim(MEDIUM_INDEX[MEDIUM_BY_INDEX[m]], hop, relayId, block, offset);
        this.shims.push(block.subarray(offset, offset + RELAY_SHIM_SIZE));
      }
    }
  }
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

export function createInterconnect(deps: InterconnectDeps): Interconnect {
  return new InterconnectImpl(deps);
}

class InterconnectImpl implements Interconnect, RelayPort {
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

  /** Hop count of the relayed datagram being injected into the core (its forward() calls come back synchronously). */
  #relayInHop = 0;
  readonly #shimIn = new RelayShim();
  /** Reused send list; dgram copies it before send() returns. */
  readonly #sendList: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)];

  readonly #onJoined = (p: ParticipantSnapshot): void => this.#markDirty(p.session);
  readonly #onRemoved = (_id: string, session: string): void => this.#markDirty(session);
  readonly #onSessionChange = (name: string): void => this.#markDirty(name);

  constructor(deps: InterconnectDeps) {
    this.#core = deps.core;
    this.#logger = deps.logger;
    this.#dropLog = new RateLimitedLog(deps.logger, DROP_LOG_INTERVAL_MS);
    this.#config = deps.config;
    this.#timing = { ...DEFAULT_TIMING, ...deps.timing };
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
    if (wasRunning) {
      this.#core.setRelayPort(null);
      this.#core.events.off('participant-joined', this.#onJoined);
      this.#core.events.off('participant-removed', this.#onRemoved);
      this.#core.events.off('session-created', this.#onSessionChange);
      this.#core.events.off('session-empty', this.#onSessionChange);
      // SPEC §2/§6: leaving gracefully tells every peer COUNT 0.
      for (const session of this.#sessions.values()) {
        for (const peer of this.#peers.values()) {
          if ((session.sent.get(peer.key) ?? 0) > 0) this.#sendSessionState(peer, session, 0);
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

  remoteCount(session: string): number {
    let n = 0;
    for (const peer of this.#peers.values()) n += peer.count(session);
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

  forward(session: string, medium: Medium, rtcp: boolean, packet: Buffer, fromPeer: string | null): void {
    const entry = this.#sessions.get(session);
    if (entry === undefined) return;
    const wanting = entry.relayTo;
    if (wanting.length === 0) return;
    // A relayed datagram comes back from core.injectRelayed() synchronously; anything else
    // claiming to be relayed is not relayed on (no hop count to trust).
    const hop = fromPeer === null ? 1 : this.#relayInHop > 0 ? this.#relayInHop + 1 : RELAY_MAX_HOPS + 1;
    if (hop > RELAY_MAX_HOPS) {
      if (wanting.length > 1 || wanting[0].key !== fromPeer) this.#drop(InterconnectDrop.RelayHopLimit);
      return;
    }
    const shim = entry.shims[MEDIUM_INDEX[medium] * RELAY_MAX_HOPS + hop - 1];
    const list = this.#sendList;
    const bytes = RELAY_SHIM_SIZE + packet.length;
    for (let i = 0; i < wanting.length; i++) {
      const peer = wanting[i];
      if (peer.key === fromPeer) continue; // split horizon
      const pair = peer.pair;
      if (pair === undefined || !pair.ready) continue;
      list[0] = shim;
      list[1] = packet;
      if (rtcp) pair.rtcp.send(list, peer.rtcpRelayPort, peer.sendAddress);
      else pair.rtp.send(list, peer.rtpRelayPort, peer.sendAddress);
      peer.relayPacketsOut++;
      peer.relayBytesOut += bytes;
    }
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
      const b0 = msg.length > 0 ? msg[0] : -1;
      if (b0 === RELAY_SHIM_MAGIC) {
        this.#onRelay(peer, rtcp, msg);
      } else if ((b0 & 0xc0) === 0x80) {
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
    const session = peer.sessionByRelayId.get(shim.relayId);
    if (session === undefined) {
      this.#drop(InterconnectDrop.RelayUnknownSession, peer.key);
      return;
    }
    peer.relayPacketsIn++;
    peer.relayBytesIn += msg.length;
    this.#relayInHop = shim.hopCount;
    try {
      this.#core.injectRelayed(session, MEDIUM_BY_INDEX[shim.medium], rtcp,
        msg.subarray(shim.payloadOffset, shim.payloadOffset + shim.payloadLength), peer.key);
    } finally {
      this.#relayInHop = 0;
    }
  }

  #onControl(peer: Peer, msg: Buffer): void {
    // SPEC §7: the APP packet alone or anywhere inside a compound RTCP packet.
    const at = findRflxApp(msg);
    if (at === null) return this.#drop(InterconnectDrop.NotRflx, peer.key);
    const message = parseRflx(msg, at.offset, at.length);
    if (typeof message === 'string') return this.#drop(message, peer.key);
    const f = message.fields;
    const now = Date.now();
    // SPEC §6: with a secret, AUTH (last TLV), TIMESTAMP ±60 s and SEQ per BOOT_EPOCH.
    if (peer.secret !== undefined) {
      if (f.auth === undefined) return this.#drop(InterconnectDrop.AuthMissing, peer.key);
      if (!verifyRflxAuth(msg, at.offset, at.length, peer.secret)) {
        return this.#drop(InterconnectDrop.AuthFailed, peer.key);
      }
      if (f.timestamp === undefined) return this.#drop(InterconnectDrop.TimestampMissing, peer.key);
      const skew = Number(f.timestamp) - now;
      if (skew > TIMESTAMP_TOLERANCE_MS || skew < -TIMESTAMP_TOLERANCE_MS) {
        return this.#drop(InterconnectDrop.StaleTimestamp, peer.key);
      }
      if (f.seq === undefined) return this.#drop(InterconnectDrop.SeqMissing, peer.key);
    }
    // Shape before any state changes.
    switch (message.subtype) {
      case RflxSubtype.Hello:
        if (f.reflectorId === undefined || f.bootEpoch === undefined) {
          return this.#drop(InterconnectDrop.HelloMalformed, peer.key);
        }
        break;
      case RflxSubtype.SessionState:
        if (f.session === undefined || f.relayId === undefined || f.count === undefined) {
          return this.#drop(InterconnectDrop.SessionStateMalformed, peer.key);
        }
        if (!isValidSessionName(f.session)) return this.#drop(InterconnectDrop.BadSessionName, peer.key);
        break;
      case RflxSubtype.PeerShareAnnounce:
      case RflxSubtype.PeerShareEnd:
      case RflxSubtype.PeerFileAnnounce:
        break;
      default:
        return this.#drop(InterconnectDrop.UnexpectedSubtype, peer.key);
    }
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
        this.#onHello(peer, f.reflectorId ?? '', now);
        break;
      case RflxSubtype.SessionState:
        this.#onSessionState(peer, f.session ?? '', f.relayId ?? 0, f.count ?? 0, now);
        break;
      default:
        this.events.emit('peer-rflx', peer.key, message);
    }
  }

  #onHello(peer: Peer, reflectorId: string, now: number): void {
    peer.id = reflectorId;
    peer.lastHelloAt = now;
    const h = this.#timing.helloMs;
    this.#timers.set(`down:${peer.key}`, MISSED_HELLOS * h + h / 2, () => this.#guard(() => this.#peerDown(peer)));
    if (!peer.up) {
      peer.up = true;
      this.#logger.info('peer_up', { peer: peer.key, id: reflectorId, bootEpoch: peer.epoch?.toString() });
      this.events.emit('peer-up', peer.key);
      this.#sendHello(peer); // so that it sees us at once too
      this.#announceAll(peer);
    }
  }

  #onPeerRestart(peer: Peer): void {
    this.#logger.info('peer_restarted', { peer: peer.key, bootEpoch: peer.epoch?.toString() });
    this.#forgetPeerSessions(peer);
    for (const s of this.#sessions.values()) s.sent.delete(peer.key);
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
    this.events.emit('peer-down', peer.key);
  }

  #onSessionState(peer: Peer, name: string, relayId: number, count: number, now: number): void {
    if (count > 0 && !peer.sessions.has(name) && peer.sessions.size >= this.#config.maxSessions) {
      return this.#drop(InterconnectDrop.TooManySessions, peer.key);
    }
    const holder = peer.sessionByRelayId.get(relayId);
    if (holder !== undefined && holder !== name) this.#setRemote(peer, holder, 0, 0, now);
    this.#setRemote(peer, name, relayId, count, now);
  }

  /** Records a peer's COUNT for a session and propagates the consequences. */
  #setRemote(peer: Peer, name: string, relayId: number, count: number, now: number): void {
    const prev = peer.setSession(name, relayId, count, now);
    if (prev === count) return;
    if (count > 0) this.#ensureSession(name);
    const entry = this.#sessions.get(name);
    if (entry !== undefined) this.#rebuildWanting(entry);
    this.events.emit('remote-count', name, peer.key, count);
    this.#markDirty(name);
  }

  #forgetPeerSessions(peer: Peer): void {
    for (const name of peer.clearSessions()) {
      const entry = this.#sessions.get(name);
      if (entry !== undefined) this.#rebuildWanting(entry);
      this.events.emit('remote-count', name, peer.key, 0);
      this.#markDirty(name);
    }
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

  /** Sends SESSION_STATE wherever a count changed (SPEC §6: at once). */
  #flush(): void {
    if (this.#state !== 'running') return;
    const names = [...this.#dirty];
    this.#dirty.clear();
    for (const name of names) {
      const local = this.#localCount(name);
      let entry = this.#sessions.get(name);
      if (entry === undefined) {
        if (local === 0 && this.remoteCount(name) === 0) continue;
        entry = this.#ensureSession(name);
      }
      for (const peer of this.#peers.values()) {
        const count = this.#countFor(name, local, peer);
        if (count !== (entry.sent.get(peer.key) ?? 0)) this.#announce(peer, entry, count);
      }
      this.#collect(entry, local);
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
      const local = this.#localCount(entry.name);
      for (const peer of this.#peers.values()) {
        const count = this.#countFor(entry.name, local, peer);
        if (count > 0 || (entry.sent.get(peer.key) ?? 0) > 0) this.#announce(peer, entry, count);
      }
      this.#collect(entry, local);
    }
  }

  /** Everything we have, to one peer at once (it came up or restarted). */
  #announceAll(peer: Peer): void {
    for (const entry of this.#sessions.values()) {
      const count = this.#countFor(entry.name, this.#localCount(entry.name), peer);
      if (count > 0 || (entry.sent.get(peer.key) ?? 0) > 0) this.#announce(peer, entry, count);
    }
  }

  #announce(peer: Peer, entry: LocalSession, count: number): void {
    this.#sendSessionState(peer, entry, count);
    const announced = entry.sent.has(peer.key);
    if (count > 0) entry.sent.set(peer.key, count);
    else entry.sent.delete(peer.key);
    if (entry.sent.has(peer.key) !== announced) this.#rebuildWanting(entry);
  }

  /** Drops a session nobody has any more, once every peer has heard COUNT 0. */
  #collect(entry: LocalSession, local: number): void {
    if (local > 0 || entry.sent.size > 0 || this.remoteCount(entry.name) > 0) return;
    this.#sessions.delete(entry.name);
    this.#relayIds.delete(entry.relayId);
  }

  /** SPEC §6: COUNT towards `to` = local participants + those learned from peers other than `to`. */
  #countFor(name: string, local: number, to: Peer): number {
    let count = local;
    for (const peer of this.#peers.values()) {
      if (peer !== to) count += peer.count(name);
    }
    return count;
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
      this.#rebuildWanting(entry);
    }
    return entry;
  }

  #rebuildWanting(entry: LocalSession): void {
    const wanting: Peer[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.count(entry.name) > 0) wanting.push(peer);
    }
    entry.wanting = wanting;
    // Media goes only to peers that already got our SESSION_STATE with this session's RELAY_ID:
    // relayed earlier, it would reach them with an id they cannot place yet (relay_unknown_session).
    entry.relayTo = wanting.filter((p) => entry.sent.has(p.key));
    entry.wantingKeys = wanting.map((p) => p.key);
  }

  // ─── Sending control ────────────────────────────────────────────────────

  #helloTick(): void {
    for (const peer of this.#peers.values()) this.#sendHello(peer);
  }

  #sendHello(peer: Peer): void {
    this.#sendControl(peer, RflxSubtype.Hello, { reflectorId: this.#config.reflectorId });
  }

  #sendSessionState(peer: Peer, entry: LocalSession, count: number): void {
    this.#sendControl(peer, RflxSubtype.SessionState, { session: entry.name, relayId: entry.relayId, count });
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
    this.#logger.info('interconnect_new_boot_epoch', { bootEpoch: this.#bootEpoch.toString(), reason: 'seq_exhausted' });
    setImmediate(() => this.#guard(() => {
      if (this.#state !== 'running') return;
      for (const peer of this.#peers.values()) {
        this.#sendHello(peer);
        for (const s of this.#sessions.values()) s.sent.delete(peer.key);
        this.#announceAll(peer);
      }
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
    for (const entry of this.#sessions.values()) this.#rebuildWanting(entry);
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
        if ((entry.sent.get(peer.key) ?? 0) > 0) this.#sendSessionState(peer, entry, 0);
      }
    }
    this.#timers.clear(`down:${peer.key}`);
    this.#peers.delete(peer.key);
    for (const s of this.#sessions.values()) s.sent.delete(peer.key);
    this.#forgetPeerSessions(peer);
    if (peer.up) {
      peer.up = false;
      this.events.emit('peer-down', peer.key);
    }
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
