/**
 * Peers and sockets: the configured peers (REFLECTOR_INTERCONNECTION lines) and the relay socket
 * pairs they share (one pair per local relay port). A reload adds, removes and re-keys peers; a pair
 * no peer uses any more is retired and closed once the last COUNT 0 to its peers has left.
 */
import type { PeerConfig } from '../config/types.js';
import type { InterconnectContext, PeerSetPart } from './context.js';
import { EMPTY_STATE } from './local-session.js';
import { Peer, peerKey } from './peer.js';
import { RelaySocketPair } from './relay-socket-pair.js';
import { CLOSE_FLUSH_MS } from './timing.js';

/** The peer set and its socket pairs (see the file comment). */
export class PeersSockets implements PeerSetPart {
  readonly #c: InterconnectContext;

  constructor(c: InterconnectContext) {
    this.#c = c;
  }

  /** Makes the peer set equal to `configs`; returns the binds of new socket pairs. */
  apply(configs: readonly PeerConfig[]): Promise<void>[] {
    const c = this.#c;
    const desired = new Map<string, PeerConfig>();
    for (const pc of configs) desired.set(peerKey(pc.address, pc.rtpRelayPort), pc);
    for (const peer of [...c.peers.values()]) {
      if (!desired.has(peer.key)) this.remove(peer);
    }
    const binds: Promise<void>[] = [];
    for (const [key, pc] of desired) {
      const existing = c.peers.get(key);
      if (existing !== undefined) {
        if (existing.secret !== pc.secret) {
          existing.secret = pc.secret;
          existing.seqWindow.reset();
          c.updateKeys(existing);
          c.logger.info('peer_secret_changed', { peer: key });
        }
        continue;
      }
      const peer = new Peer(pc);
      const { pair, bound } = this.#pairFor(pc.rtpRelayPort);
      peer.pair = pair;
      peer.sendAddress = pair.sendAddressFor(peer);
      pair.addPeer(peer);
      c.peers.set(key, peer);
      if (bound !== undefined) binds.push(bound);
      c.logger.info('peer_added', { peer: key, authenticated: pc.secret !== undefined });
    }
    for (const [port, pair] of [...c.pairs]) {
      if (pair.peers.size === 0) {
        // Let COUNT 0 to the removed peers leave first.
        c.pairs.delete(port);
        c.retiredPairs.add(pair);
        c.timers.set(`retire:${port}`, CLOSE_FLUSH_MS, () => {
          c.retiredPairs.delete(pair);
          void pair.close();
        });
      }
    }
    for (const entry of c.sessions.values()) c.announcing.rebuildTargets(entry);
    return binds;
  }

  #pairFor(port: number): { pair: RelaySocketPair; bound?: Promise<void> } {
    const c = this.#c;
    const existing = c.pairs.get(port);
    if (existing !== undefined) return { pair: existing };
    for (const retired of c.retiredPairs) {
      if (retired.port !== port) continue;
      c.timers.clear(`retire:${port}`);
      c.retiredPairs.delete(retired);
      c.pairs.set(port, retired);
      return { pair: retired };
    }
    const pair = new RelaySocketPair(c.config.listenAddress, port, c.receiving.onDatagram, c.receiving.onSocketError);
    c.pairs.set(port, pair);
    const bound = pair.bind(c.config.listenAddress).then(() => {
      // Peers added by a reload get our HELLO as soon as their socket pair can send.
      if (c.state !== 'running') return;
      for (const peer of c.peers.values()) {
        if (peer.pair === pair) c.control.sendHello(peer);
      }
    }, (err: unknown) => {
      c.logger.error('relay_bind_failed', {
        address: c.config.listenAddress, port, error: err instanceof Error ? err.message : String(err),
      });
      if (c.pairs.get(port) === pair) c.pairs.delete(port);
      // At run time (reload) the peers of a port we cannot bind are dropped again.
      if (c.state === 'running') {
        for (const peer of [...c.peers.values()]) {
          if (peer.pair === pair) this.remove(peer);
        }
      }
      throw err;
    });
    return { pair, bound };
  }

  remove(peer: Peer): void {
    const c = this.#c;
    if (c.state === 'running') {
      for (const entry of c.sessions.values()) {
        if (entry.sent.has(peer.key)) c.control.sendSessionState(peer, entry, EMPTY_STATE);
      }
    }
    c.timers.clear(`down:${peer.key}`);
    c.peers.delete(peer.key);
    for (const s of c.sessions.values()) s.sent.delete(peer.key);
    c.receiving.forgetPeerSessions(peer);
    const wasUp = peer.up;
    peer.up = false;
    peer.routes = new Map();
    c.announcing.recomputeRoutes();
    if (wasUp) c.events.emit('peer-down', peer.key);
    peer.pair?.removePeer(peer);
    c.logger.info('peer_removed', { peer: peer.key });
  }
}
