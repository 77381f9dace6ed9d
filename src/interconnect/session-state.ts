/**
 * What we announce to a peer for a session (SESSION_STATE: COUNT, ORIGINS, JOINS) and
 * who gets the session's media, computed from the peers, our routes and our NODE_ID.
 */
import { METRIC_VIA_YOU } from '../rtp/relay-routing.js';
import type { LocalSession, StateFor } from './local-session.js';
import type { Peer } from './peer.js';
import type { Route } from './routing.js';

/**
 * What we announce to `to` for a session.
 * To a version-1 peer, SPEC §6's COUNT: everything we reach other than through it.
 * To a version-2 peer: ORIGINS = the origins it reaches through us (it said "via you" in its
 * ROUTES) with their counts, ourselves included; COUNT = their sum; JOINS = the origins we
 * reach through it whose media we want (participants here, or peers that joined them here),
 * with participants or not yet.
 */
export function stateFor(entry: LocalSession, to: Peer, local: number, peers: ReadonlyMap<string, Peer>,
  routes: ReadonlyMap<number, Route>, nodeId: number): StateFor {
  const name = entry.name;
  const self = local + legacyCount(peers, name, to);
  if (!to.v2) {
    let count = self;
    for (const origin of routes.keys()) count += originCount(routes, name, origin);
    return { count, origins: null, joins: null, sig: `${count}` };
  }
  const origins = new Map<number, number>();
  let count = 0;
  if (self > 0 && to.routes.get(nodeId) === METRIC_VIA_YOU) {
    origins.set(nodeId, self);
    count += self;
  }
  const joins = new Set<number>();
  for (const [origin, route] of routes) {
    if (route.via === to) {
      // Joined whether or not the origin has participants yet: the join then travels with (not one
      // round trip after) the counts, so media flows as soon as both sides know of each other.
      // An origin without participants sends nothing, so this costs no relay.
      if (wants(peers, name, origin, self, to)) joins.add(origin);
      continue;
    }
    const c = route.via.originCount(name, origin);
    if (c > 0 && to.routes.get(origin) === METRIC_VIA_YOU) {
      origins.set(origin, c);
      count += c;
    }
  }
  let sig = `${count}|`;
  for (const [o, c] of origins) sig += `${o}:${c},`;
  sig += '|';
  for (const o of joins) sig += `${o},`;
  return { count, origins, joins, sig };
}

/** We want `origin`'s media from `from`: participants here (or behind version-1 peers), or a joiner. */
function wants(peers: ReadonlyMap<string, Peer>, name: string, origin: number, self: number, from: Peer): boolean {
  if (self > 0) return true;
  for (const peer of peers.values()) {
    if (peer !== from && peer.v2 && peer.joins(name).has(origin)) return true;
  }
  return false;
}

/** An origin's participant count for a session, as its next hop (the tree) reports it. */
export function originCount(routes: ReadonlyMap<number, Route>, name: string, origin: number): number {
  const route = routes.get(origin);
  return route === undefined ? 0 : route.via.originCount(name, origin);
}

/** COUNTs of version-1 peers (part of us for routing), except `except`. */
export function legacyCount(peers: ReadonlyMap<string, Peer>, name: string, except: Peer | null): number {
  let n = 0;
  for (const peer of peers.values()) {
    if (peer !== except && !peer.v2) n += peer.count(name);
  }
  return n;
}

/** Who gets the session's media and the proxy's announcements, from what peers said and what we sent. */
export function rebuildTargets(entry: LocalSession, peers: ReadonlyMap<string, Peer>): void {
  const name = entry.name;
  const wanting: Peer[] = [];
  const legacy: Peer[] = [];
  const targets = new Map<number, Peer[]>();
  for (const peer of peers.values()) {
    if (peer.count(name) > 0) wanting.push(peer);
    // Media goes only to peers that already got our SESSION_STATE with this session's RELAY_ID:
    // relayed earlier, it would reach them with an id they cannot place yet (relay_unknown_session).
    if (!entry.sent.has(peer.key)) continue;
    if (!peer.v2) {
      // Never unprotected media to a link with a secret (a version-1 peer there is refused anyway).
      if (peer.count(name) > 0 && peer.secret === undefined) legacy.push(peer);
      continue;
    }
    for (const origin of peer.joins(name)) {
      let list = targets.get(origin);
      if (list === undefined) targets.set(origin, list = []);
      list.push(peer);
    }
  }
  entry.wanting = wanting;
  entry.wantingKeys = wanting.map((p) => p.key);
  entry.legacyTo = legacy;
  entry.targets = targets;
}
