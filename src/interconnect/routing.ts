/**
 * Routing between reflectors (docs/protocol.md "Graphs with cycles"): a distance
 * vector over the version-2 peers that are up, and what we announce of it in HELLO.
 */
import { METRIC_VIA_YOU } from '../rtp/relay-routing.js';
import { RELAY_MAX_HOPS } from '../rtp/relay-shim.js';
import type { Peer } from './peer.js';

/** Farthest reflector a route may reach (a longer one is unreachable: bounds counting to infinity). */
export const MAX_ROUTE_METRIC = RELAY_MAX_HOPS;

/** A route to another reflector: metric (hops) and the peer it goes through. */
export interface Route {
  readonly metric: number;
  readonly via: Peer;
}

/**
 * Distance vector over the version-2 peers that are up: metric + 1 through each,
 * the lowest metric wins, ties go to the peer with the lower NODE_ID; METRIC 255
 * ("via you") and metrics above MAX_ROUTE_METRIC are unreachable. `self` is our NODE_ID.
 */
export function computeRoutes(peers: Iterable<Peer>, self: number): Map<number, Route> {
  const next = new Map<number, Route>();
  const offer = (node: number, metric: number, via: Peer): void => {
    if (node === self || metric > MAX_ROUTE_METRIC) return;
    const cur = next.get(node);
    if (cur === undefined || metric < cur.metric || (metric === cur.metric && (via.nodeId ?? 0) < (cur.via.nodeId ?? 0))) {
      next.set(node, { metric, via });
    }
  };
  for (const peer of peers) {
    if (!peer.up || peer.nodeId === undefined) continue;
    offer(peer.nodeId, 1, peer);
    for (const [node, metric] of peer.routes) {
      if (metric !== METRIC_VIA_YOU) offer(node, metric + 1, peer);
    }
  }
  return next;
}

/** The same next hop and metric towards every node. */
export function sameRoutes(next: ReadonlyMap<number, Route>, current: ReadonlyMap<number, Route>): boolean {
  if (next.size !== current.size) return false;
  for (const [node, r] of next) {
    const old = current.get(node);
    if (old === undefined || old.metric !== r.metric || old.via !== r.via) return false;
  }
  return true;
}

/** ROUTES for `peer`: ourselves (`self`) at 0, others at their metric, 255 for those we reach through it. */
export function routesFor(routes: ReadonlyMap<number, Route>, self: number, peer: Peer): Map<number, number> {
  const out = new Map<number, number>([[self, 0]]);
  for (const [node, r] of routes) out.set(node, r.via === peer ? METRIC_VIA_YOU : r.metric);
  return out;
}

export function sameMap(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}
