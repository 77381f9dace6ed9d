/**
 * Reflector interconnection: the entry point. The parts:
 * - interconnect.ts: InterconnectImpl, the composition (component life cycle, InterconnectLink);
 * - context.ts: what the parts share (peers, pairs, sessions, BOOT_EPOCH, routes, drops, timers);
 * - receiving.ts: relay datagrams (hot path, the core's RelayPort) and control packets from peers;
 * - announcing.ts: SESSION_STATE to peers, and routing;
 * - control-out.ts: HELLO, SESSION_STATE and 18–20 to a peer (BOOT_EPOCH, SEQ, AUTH);
 * - peers-sockets.ts: the configured peers and their relay socket pairs;
 * - relay-sender.ts: the relay's send side (hot path: shims, header ring, sealing);
 * - local-session.ts: our side of one session;
 * - session-state.ts: what SESSION_STATE announces to a peer, who gets a session's media;
 * - control-in.ts: a control packet from a peer, authenticated and shape-checked;
 * - routing.ts: the distance vector and the ROUTES we announce;
 * - relay-keys.ts: protected relay keys per secret peer; timing.ts: intervals;
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
