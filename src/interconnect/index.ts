/**
 * Reflector interconnection: the entry point. The parts:
 * - interconnect.ts: InterconnectImpl, the composition (component life cycle,
 *   InterconnectLink, receiving, announcing, control packets, peers and sockets);
 * - relay-sender.ts: the relay's send side (hot path: shims, header ring, sealing);
 * - local-session.ts: our side of one session;
 * - session-state.ts: what SESSION_STATE announces to a peer, who gets a session's media;
 * - control-in.ts: a control packet from a peer, authenticated and shape-checked;
 * - routing.ts: the distance vector and the ROUTES we announce;
 * - relay-keys.ts: protected relay keys per secret peer;
 * - peer.ts, relay-socket-pair.ts, relay-crypto.ts, dup-window.ts, seq-window.ts.
 */
import { InterconnectImpl, type Interconnect, type InterconnectDeps } from './interconnect.js';

export {
  DEFAULT_TIMING,
  MISSED_HELLOS,
  MISSED_REFRESHES,
  type Interconnect,
  type InterconnectDeps,
  type InterconnectTiming,
} from './interconnect.js';
export { TIMESTAMP_TOLERANCE_MS } from './control-in.js';
export { MAX_ROUTE_METRIC } from './routing.js';

export function createInterconnect(deps: InterconnectDeps): Interconnect {
  return new InterconnectImpl(deps);
}
