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
 *
 * InterconnectImpl is the component (life cycle) and the InterconnectLink; its parts share one
 * InterconnectContext (context.ts): receiving.ts (the RelayPort and everything from peers),
 * announcing.ts (SESSION_STATE, routing), control-out.ts (control packets to peers) and
 * peers-sockets.ts (the peer set and its socket pairs).
 */
import type { Config } from '../config/types.js';
import type { ParticipantSnapshot, ReflectorCore } from '../reflector/api.js';
import { RflxSubtype, type RflxFields } from '../rtp/rflx-types.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import type { InterconnectLink, PeerSnapshot } from './api.js';
import { Announcing } from './announcing.js';
import { InterconnectContext } from './context.js';
import { ControlOut } from './control-out.js';
import { EMPTY_STATE } from './local-session.js';
import { PeersSockets } from './peers-sockets.js';
import { Receiving } from './receiving.js';
import { legacyCount, originCount } from './session-state.js';
import { CLOSE_FLUSH_MS, DEFAULT_TIMING, type InterconnectTiming } from './timing.js';

export { DEFAULT_TIMING, MISSED_HELLOS, MISSED_REFRESHES, type InterconnectTiming } from './timing.js';

export interface InterconnectDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  /** Shorter intervals for tests; production uses the SPEC's 5 s. */
  readonly timing?: Partial<InterconnectTiming>;
}

export type Interconnect = InterconnectLink & Component;

/** The interconnect: life cycle and InterconnectLink over the parts (see the file comment). */
export class InterconnectImpl implements Interconnect {
  readonly #c: InterconnectContext;
  readonly events: InterconnectContext['events'];
  readonly #core: ReflectorCore;
  readonly #logger: Logger;
  #closed: Promise<void> | undefined;

  readonly #onJoined = (p: ParticipantSnapshot): void => this.#c.announcing.markDirty(p.session);
  readonly #onRemoved = (_id: string, session: string): void => this.#c.announcing.markDirty(session);
  readonly #onSessionChange = (name: string): void => this.#c.announcing.markDirty(name);

  constructor(deps: InterconnectDeps) {
    this.#c = new InterconnectContext({
      config: deps.config, logger: deps.logger, core: deps.core, timing: { ...DEFAULT_TIMING, ...deps.timing },
    }, (c) => ({ receiving: new Receiving(c), announcing: new Announcing(c), control: new ControlOut(c), peerSet: new PeersSockets(c) }));
    this.events = this.#c.events;
    this.#core = deps.core;
    this.#logger = deps.logger;
  }

  // ─── Component ──────────────────────────────────────────────────────────

  async start(): Promise<void> {
    const c = this.#c;
    if (c.state !== 'new') return;
    c.state = 'starting';
    const binds = c.peerSet.apply(c.config.peers);
    try {
      await Promise.all(binds);
    } catch (err) {
      // A relay port is taken: release what did bind, and let main.ts report the failure.
      await Promise.allSettled(binds);
      c.state = 'closed';
      this.#closed = Promise.resolve();
      c.timers.dispose();
      await Promise.all([...c.pairs.values()].map((p) => p.close()));
      c.pairs.clear();
      throw err;
    }
    if (c.state !== 'starting') return; // closed while binding
    c.state = 'running';
    c.receiving.accepting = true;
    this.#core.events.on('participant-joined', this.#onJoined);
    this.#core.events.on('participant-removed', this.#onRemoved);
    this.#core.events.on('session-created', this.#onSessionChange);
    this.#core.events.on('session-empty', this.#onSessionChange);
    this.#core.setRelayPort(c.receiving);
    for (const name of this.#core.sessionNames()) c.announcing.markDirty(name);
    c.timers.every('hello', c.timing.helloMs, () => c.guard(() => c.control.helloTick()));
    c.timers.every('refresh', c.timing.refreshMs, () => c.guard(() => c.announcing.refreshTick()));
    c.control.helloTick();
    this.#logger.info('interconnect_started', {
      bootEpoch: c.bootEpoch.toString(),
      peers: [...c.peers.keys()],
      relayPorts: [...c.pairs.keys()],
    });
  }

  reload(config: Config): void {
    const c = this.#c;
    if (config.listenAddress !== c.config.listenAddress) {
      this.#logger.warn('interconnect_listen_address_unchanged', {
        note: 'LISTEN_ADDRESS changes need a restart', running: c.config.listenAddress,
      });
      config = { ...config, listenAddress: c.config.listenAddress };
    }
    c.config = config;
    if (c.state !== 'running') return;
    const binds = c.peerSet.apply(config.peers);
    for (const b of binds) b.catch(() => undefined); // logged in PeersSockets
    for (const peer of c.peers.values()) {
      if (peer.lastHelloAt === undefined) c.control.sendHello(peer); // skipped until its pair is bound
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const c = this.#c;
    const wasRunning = c.state === 'running';
    c.state = 'closing';
    c.receiving.accepting = false;
    c.timers.dispose();
    c.announcing.dispose();
    if (wasRunning) {
      this.#core.setRelayPort(null);
      this.#core.events.off('participant-joined', this.#onJoined);
      this.#core.events.off('participant-removed', this.#onRemoved);
      this.#core.events.off('session-created', this.#onSessionChange);
      this.#core.events.off('session-empty', this.#onSessionChange);
      // SPEC §2/§6: leaving gracefully tells every peer COUNT 0.
      for (const session of c.sessions.values()) {
        for (const peer of c.peers.values()) {
          if (session.sent.has(peer.key)) c.control.sendSessionState(peer, session, EMPTY_STATE);
        }
        session.sent.clear();
      }
      await c.control.drain(CLOSE_FLUSH_MS);
    }
    await Promise.all([...c.pairs.values(), ...c.retiredPairs].map((p) => p.close()));
    c.pairs.clear();
    c.retiredPairs.clear();
    c.state = 'closed';
    this.#logger.info('interconnect_closed', {});
  }

  // ─── InterconnectLink ───────────────────────────────────────────────────

  peersWithParticipants(session: string): readonly string[] {
    return this.#c.sessions.get(session)?.wantingKeys ?? [];
  }

  /** Participants of `session` at other reflectors: version-1 peers' COUNTs plus every reachable origin's count. */
  remoteCount(session: string): number {
    const c = this.#c;
    let n = legacyCount(c.peers, session, null);
    for (const origin of c.routes.keys()) n += originCount(c.routes, session, origin);
    return n;
  }

  sendRflx(key: string, subtype: number, fields: RflxFields): void {
    if (subtype !== RflxSubtype.PeerShareAnnounce && subtype !== RflxSubtype.PeerShareEnd &&
        subtype !== RflxSubtype.PeerFileAnnounce) {
      this.#logger.warn('interconnect_send_rflx_refused', { subtype, note: 'only subtypes 18-20' });
      return;
    }
    const peer = this.#c.peers.get(key);
    if (peer === undefined || this.#c.state !== 'running') return;
    this.#c.control.send(peer, subtype, fields);
  }

  peerAddress(key: string): string | undefined {
    return this.#c.peers.get(key)?.address;
  }

  peers(): readonly PeerSnapshot[] {
    return [...this.#c.peers.values()].map((p) => p.snapshot());
  }

  drops(): Readonly<Record<string, number>> {
    return this.#c.drops.snapshot();
  }
}
