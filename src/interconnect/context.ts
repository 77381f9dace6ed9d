/**
 * What the parts of the interconnect share: the peers, socket pairs and sessions, our BOOT_EPOCH and
 * routes, the timers and drop counters, and the parts themselves, which call each other through it
 * by the interfaces below (so the parts import only this file, never each other):
 *
 *   receiving.ts      relay datagrams (hot path; RelayPort) and control packets from peers; owns NODE_ID
 *   announcing.ts     SESSION_STATE (what changed, at once; everything, every refresh) and routing
 *   control-out.ts    HELLO, SESSION_STATE and 18–20 to a peer: BOOT_EPOCH, SEQ, AUTH
 *   peers-sockets.ts  the configured peers and their relay socket pairs
 *
 * InterconnectImpl (interconnect.ts) builds the parts, owns the context and drives the life cycle (`state`).
 */
import type { Config } from '../config/types.js';
import type { ReflectorCore } from '../reflector/api.js';
import { DropCounter } from '../runtime/drop-counter.js';
import type { Logger } from '../runtime/logger.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import { TimerSet } from '../runtime/timer-set.js';
import type { PeerConfig } from '../config/types.js';
import type { RelayPort } from '../reflector/api.js';
import type { RflxFields } from '../rtp/rflx-types.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import type { InterconnectEvents } from './api.js';
import { InterconnectDrop } from './drop-reasons.js';
import type { LocalSession, StateFor } from './local-session.js';
import type { Peer } from './peer.js';
import { updateRelayKeys } from './relay-keys.js';
import { RelaySender } from './relay-sender.js';
import type { RelayDatagramHandler, RelaySocketPair } from './relay-socket-pair.js';
import type { Route } from './routing.js';
import type { InterconnectTiming } from './timing.js';

/** Input defects are logged at most once per reason per interval. */
const DROP_LOG_INTERVAL_MS = 10_000;

let lastBootEpoch = 0n;
/** ms since epoch at start, strictly increasing within a process (tests restart instances quickly). */
export function nextBootEpoch(): bigint {
  let epoch = BigInt(Date.now());
  if (epoch <= lastBootEpoch) epoch = lastBootEpoch + 1n;
  lastBootEpoch = epoch;
  return epoch;
}

export type InterconnectState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** receiving.ts, as the other parts see it. */
export interface ReceivingPart extends RelayPort {
  /** Our NODE_ID (docs/protocol.md): random, never 0; renewed if a peer has the same. */
  readonly nodeId: number;
  /** Datagrams are handled only while true (set with `state`, so the hot path does not look it up). */
  accepting: boolean;
  readonly onDatagram: RelayDatagramHandler;
  readonly onSocketError: (err: Error) => void;
  /** Records a peer's SESSION_STATE for a session and propagates the consequences. */
  setRemote(peer: Peer, name: string, relayId: number, count: number, now: number): void;
  /** A peer that went (down, restarted, removed) has no sessions any more. */
  forgetPeerSessions(peer: Peer): void;
}

/** announcing.ts, as the other parts see it. */
export interface AnnouncingPart {
  markDirty(name: string): void;
  markAllDirty(): void;
  refreshTick(): void;
  announceAll(peer: Peer): void;
  ensureSession(name: string): LocalSession;
  rebuildTargets(entry: LocalSession): void;
  recomputeRoutes(): void;
  routesChanged(): void;
  routesFor(peer: Peer): Map<number, number>;
  /** Cancels a pending flush and HELLO (closing). */
  dispose(): void;
}

/** control-out.ts, as the other parts see it. */
export interface ControlPart {
  helloTick(): void;
  sendHello(peer: Peer): void;
  sendSessionState(peer: Peer, entry: LocalSession, st: StateFor): void;
  send(peer: Peer, subtype: number, fields: RflxFields): void;
  /** Resolves when every control packet handed to a socket has left, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
}

/** peers-sockets.ts, as the other parts see it. */
export interface PeerSetPart {
  /** Makes the peer set equal to `configs`; returns the binds of new socket pairs. */
  apply(configs: readonly PeerConfig[]): Promise<void>[];
  remove(peer: Peer): void;
}

export interface InterconnectParts {
  readonly receiving: ReceivingPart;
  readonly announcing: AnnouncingPart;
  readonly control: ControlPart;
  readonly peerSet: PeerSetPart;
}

export interface ContextDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  readonly timing: InterconnectTiming;
}

/** The interconnect's shared state and its parts (see the file comment). */
export class InterconnectContext {
  readonly events = new TypedEmitter<InterconnectEvents>();
  readonly core: ReflectorCore;
  readonly logger: Logger;
  readonly timing: InterconnectTiming;
  config: Config;
  state: InterconnectState = 'new';
  bootEpoch = nextBootEpoch();

  readonly peers = new Map<string, Peer>();
  readonly pairs = new Map<number, RelaySocketPair>();
  /** Pairs no peer uses any more, closed shortly (or by close()). */
  readonly retiredPairs = new Set<RelaySocketPair>();
  readonly sessions = new Map<string, LocalSession>();
  readonly relayIds = new Set<number>();
  /** Next hop and metric towards every other version-2 reflector we can reach. */
  routes = new Map<number, Route>();
  readonly drops = new DropCounter();
  readonly dropLog: RateLimitedLog;
  readonly timers = new TimerSet();

  /** The relay's send side (hot path): shims, the header ring, sealing. */
  readonly sender: RelaySender;
  readonly receiving: ReceivingPart;
  readonly announcing: AnnouncingPart;
  readonly control: ControlPart;
  readonly peerSet: PeerSetPart;

  /** `parts` builds the parts over this context (they may keep it, but not call each other yet). */
  constructor(deps: ContextDeps, parts: (c: InterconnectContext) => InterconnectParts) {
    this.core = deps.core;
    this.logger = deps.logger;
    this.config = deps.config;
    this.timing = deps.timing;
    this.dropLog = new RateLimitedLog(deps.logger, DROP_LOG_INTERVAL_MS);
    this.sender = new RelaySender((reason, detail) => this.drop(reason, detail));
    const p = parts(this);
    this.receiving = p.receiving;
    this.announcing = p.announcing;
    this.control = p.control;
    this.peerSet = p.peerSet;
  }

  /** Our NODE_ID (docs/protocol.md): random, never 0; renewed if a peer has the same (receiving.ts). */
  get nodeId(): number { return this.receiving.nodeId; }

  /**
   * (Re)derives a secret peer's relay keys when the secret, a NODE_ID or a BOOT_EPOCH changed
   * (docs/protocol.md "Protected relay"); without all of them there are no keys.
   */
  updateKeys(peer: Peer): void {
    updateRelayKeys(peer, this.nodeId, this.bootEpoch);
  }

  drop(reason: string, detail?: string): void {
    this.drops.add(reason);
    this.dropLog.warn(reason, 'interconnect_drop', { reason, detail, total: this.drops.get(reason) });
  }

  /** Logs a bug of ours caught by a backstop. */
  internalError(err: unknown): void {
    this.drops.add(InterconnectDrop.Internal);
    this.logger.error('interconnect_internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }

  /** Backstop for our own bugs in timer and immediate callbacks. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(err);
    }
  }
}
