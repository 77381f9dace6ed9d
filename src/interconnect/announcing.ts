/**
 * Announcing (SPEC §6): SESSION_STATE goes to a peer at once when what we announce to it changed
 * (coalesced per event-loop turn), to every peer every refresh interval, and everything at once to a
 * peer that came up or restarted; a session nobody has any more is dropped once every peer heard
 * that we left. Routing: our distance vector over the peers' ROUTES (routing.ts); when it changes,
 * every peer gets a HELLO with the new ROUTES and sessions are announced again.
 */
import { randomInt } from 'node:crypto';
import type { AnnouncingPart, InterconnectContext } from './context.js';
import { EMPTY_STATE, LocalSession, type StateFor } from './local-session.js';
import type { Peer } from './peer.js';
import { computeRoutes, routesFor, sameRoutes } from './routing.js';
import { rebuildTargets, stateFor } from './session-state.js';
import { MISSED_REFRESHES } from './timing.js';

/** SESSION_STATE to peers, and the routes (see the file comment). */
export class Announcing implements AnnouncingPart {
  readonly #c: InterconnectContext;
  readonly #dirty = new Set<string>();
  #flushHandle: NodeJS.Immediate | undefined;
  #helloHandle: NodeJS.Immediate | undefined;

  constructor(c: InterconnectContext) {
    this.#c = c;
  }

  /** Cancels a pending flush and HELLO (closing). */
  dispose(): void {
    if (this.#flushHandle !== undefined) clearImmediate(this.#flushHandle);
    this.#flushHandle = undefined;
    if (this.#helloHandle !== undefined) clearImmediate(this.#helloHandle);
    this.#helloHandle = undefined;
  }

  // ─── SESSION_STATE ──────────────────────────────────────────────────────

  markDirty(name: string): void {
    if (this.#c.state !== 'running') return;
    this.#dirty.add(name);
    this.#flushHandle ??= setImmediate(() => {
      this.#flushHandle = undefined;
      this.#c.guard(() => this.#flush());
    });
  }

  markAllDirty(): void {
    for (const name of this.#c.sessions.keys()) this.markDirty(name);
    for (const name of this.#c.core.sessionNames()) this.markDirty(name);
  }

  /** Sends SESSION_STATE wherever what we announce changed (SPEC §6: at once). */
  #flush(): void {
    const c = this.#c;
    if (c.state !== 'running') return;
    const names = [...this.#dirty];
    this.#dirty.clear();
    for (const name of names) {
      let entry = c.sessions.get(name);
      if (entry === undefined) {
        if (this.#localCount(name) === 0 && this.#remoteState(name) === 0) continue;
        entry = this.ensureSession(name);
      }
      for (const peer of c.peers.values()) {
        const st = this.#stateFor(entry, peer);
        if (st.sig !== (entry.sent.get(peer.key)?.sig ?? EMPTY_STATE.sig)) this.#announce(peer, entry, st);
      }
      this.#collect(entry);
    }
  }

  /** Every refreshMs: SESSION_STATE for all sessions; forgets peer sessions nobody refreshed. */
  refreshTick(): void {
    const c = this.#c;
    const now = Date.now();
    const r = c.timing.refreshMs;
    const expiry = MISSED_REFRESHES * r + r / 2;
    for (const peer of c.peers.values()) {
      for (const [name, s] of [...peer.sessions]) {
        if (now - s.at > expiry) {
          c.logger.info('peer_session_expired', { peer: peer.key, session: name });
          c.receiving.setRemote(peer, name, s.relayId, 0, now);
        }
      }
    }
    for (const entry of [...c.sessions.values()]) {
      for (const peer of c.peers.values()) {
        const st = this.#stateFor(entry, peer);
        if (st.count > 0 || (st.joins?.size ?? 0) > 0 || entry.sent.has(peer.key)) this.#announce(peer, entry, st);
      }
      this.#collect(entry);
    }
  }

  /** Everything we have, to one peer at once (it came up or restarted). */
  announceAll(peer: Peer): void {
    for (const entry of this.#c.sessions.values()) {
      const st = this.#stateFor(entry, peer);
      if (st.count > 0 || (st.joins?.size ?? 0) > 0 || entry.sent.has(peer.key)) this.#announce(peer, entry, st);
    }
  }

  #announce(peer: Peer, entry: LocalSession, st: StateFor): void {
    this.#c.control.sendSessionState(peer, entry, st);
    const announced = entry.sent.has(peer.key);
    if (st.count > 0 || (st.joins?.size ?? 0) > 0) entry.sent.set(peer.key, { count: st.count, sig: st.sig });
    else entry.sent.delete(peer.key);
    if (entry.sent.has(peer.key) !== announced) this.rebuildTargets(entry);
  }

  /** Drops a session nobody has any more, once every peer has heard that we left. */
  #collect(entry: LocalSession): void {
    if (this.#localCount(entry.name) > 0 || entry.sent.size > 0 || this.#remoteState(entry.name) > 0) return;
    this.#c.sessions.delete(entry.name);
    this.#c.relayIds.delete(entry.relayId);
  }

  /** Peers that announced anything for the session (COUNT or JOINS). */
  #remoteState(name: string): number {
    let n = 0;
    for (const peer of this.#c.peers.values()) if (peer.sessions.has(name)) n++;
    return n;
  }

  /** What we announce to `to` for a session (session-state.ts). */
  #stateFor(entry: LocalSession, to: Peer): StateFor {
    const c = this.#c;
    return stateFor(entry, to, this.#localCount(entry.name), c.peers, c.routes, c.nodeId);
  }

  #localCount(name: string): number {
    return this.#c.core.participantIds(name).length;
  }

  ensureSession(name: string): LocalSession {
    const c = this.#c;
    let entry = c.sessions.get(name);
    if (entry === undefined) {
      let relayId: number;
      do relayId = randomInt(1, 0x1_0000_0000); while (c.relayIds.has(relayId));
      c.relayIds.add(relayId);
      entry = new LocalSession(name, relayId);
      c.sessions.set(name, entry);
      this.rebuildTargets(entry);
    }
    return entry;
  }

  rebuildTargets(entry: LocalSession): void {
    rebuildTargets(entry, this.#c.peers);
  }

  // ─── Routing ────────────────────────────────────────────────────────────

  /**
   * Distance vector over the version-2 peers that are up: metric + 1 through each,
   * the lowest metric wins, ties go to the peer with the lower NODE_ID; METRIC 255
   * ("via you") and metrics above MAX_ROUTE_METRIC are unreachable.
   */
  recomputeRoutes(): void {
    const c = this.#c;
    const next = computeRoutes(c.peers.values(), c.nodeId);
    if (sameRoutes(next, c.routes)) return;
    c.routes = next;
    this.routesChanged();
  }

  /** Our ROUTES changed: tell every peer at once (coalesced), and re-announce sessions. */
  routesChanged(): void {
    const c = this.#c;
    this.markAllDirty();
    if (c.state !== 'running') return;
    this.#helloHandle ??= setImmediate(() => {
      this.#helloHandle = undefined;
      c.guard(() => { if (c.state === 'running') c.control.helloTick(); });
    });
  }

  /** ROUTES for `peer`: ourselves at 0, others at their metric, 255 for those we reach through it. */
  routesFor(peer: Peer): Map<number, number> {
    return routesFor(this.#c.routes, this.#c.nodeId, peer);
  }
}
