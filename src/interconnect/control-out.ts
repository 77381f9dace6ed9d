/**
 * Sending control packets (SPEC §6): HELLO (with our NODE_ID and ROUTES), SESSION_STATE and the
 * proxy's subtypes 18–20, each an RTCP APP RFLX from the peer's socket pair. Every packet carries our
 * BOOT_EPOCH; with a secret also TIMESTAMP, SEQ and AUTH. close() waits for the last ones to leave.
 */
import { encodeJoins, encodeOrigins, encodeRoutes } from '../rtp/relay-routing.js';
import { encodeRflx } from '../rtp/rflx.js';
import { RflxSubtype, type RflxFields, type RflxMessage } from '../rtp/rflx-types.js';
import { nextBootEpoch, type ControlPart, type InterconnectContext } from './context.js';
import { InterconnectDrop } from './drop-reasons.js';
import type { LocalSession, StateFor } from './local-session.js';
import type { Peer } from './peer.js';

/** The largest SEQ (u32). */
const SEQ_MAX = 0xffff_ffff;

/** Control packets to peers (see the file comment). */
export class ControlOut implements ControlPart {
  readonly #c: InterconnectContext;
  /**
   * SEQ of our control packets: one counter for all peers, so it increases per peer too.
   * Before it would wrap we take a new BOOT_EPOCH (peers see a restart and re-sync).
   */
  #seq = 0;
  #pendingSends = 0;
  #sendsDrained: (() => void) | undefined;

  constructor(c: InterconnectContext) {
    this.#c = c;
  }

  helloTick(): void {
    for (const peer of this.#c.peers.values()) this.sendHello(peer);
  }

  sendHello(peer: Peer): void {
    const c = this.#c;
    this.send(peer, RflxSubtype.Hello, {
      reflectorId: c.config.reflectorId, nodeId: c.nodeId, routes: encodeRoutes(c.announcing.routesFor(peer)),
    });
  }

  sendSessionState(peer: Peer, entry: LocalSession, st: StateFor): void {
    const fields: RflxFields = { session: entry.name, relayId: entry.relayId, count: st.count };
    if (peer.v2) {
      if (st.origins !== null && st.origins.size > 0) fields.origins = encodeOrigins(st.origins);
      if (st.joins !== null && st.joins.size > 0) fields.joins = encodeJoins(st.joins);
    }
    this.send(peer, RflxSubtype.SessionState, fields);
  }

  /**
   * Every control packet carries our BOOT_EPOCH (receivers that do not know it skip it), so a
   * restart is noticed from any packet; with a secret also TIMESTAMP, SEQ and AUTH (SPEC §6).
   */
  send(peer: Peer, subtype: number, fields: RflxFields): void {
    const c = this.#c;
    const pair = peer.pair;
    if (pair === undefined || !pair.ready) return;
    const all: RflxFields = { ...fields, bootEpoch: c.bootEpoch };
    if (peer.secret !== undefined) {
      if (this.#seq === SEQ_MAX) this.#renewEpoch();
      all.timestamp = BigInt(Date.now());
      all.bootEpoch = c.bootEpoch;
      all.seq = ++this.#seq;
    }
    const message: RflxMessage = { subtype, ssrc: 0, fields: all };
    let packet: Buffer;
    try {
      packet = encodeRflx(message, peer.secret);
    } catch (err) {
      // A caller's bug (sendRflx with a value out of range): refuse it, keep running.
      c.logger.error('interconnect_encode_failed', { subtype, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.#pendingSends++;
    pair.rtcp.send(packet, peer.rtcpRelayPort, peer.sendAddress, (err) => {
      if (err) c.drop(InterconnectDrop.SocketError, err.message);
      if (--this.#pendingSends === 0 && this.#sendsDrained !== undefined) this.#sendsDrained();
    });
  }

  /**
   * SEQ is u32 and must increase per BOOT_EPOCH (SPEC §6): at the end of its range a new
   * epoch starts. Peers treat it as a restart and forget what we announced, so everything
   * is announced again right after the HELLO that carries the new epoch.
   */
  #renewEpoch(): void {
    const c = this.#c;
    c.bootEpoch = nextBootEpoch();
    this.#seq = 0;
    for (const peer of c.peers.values()) c.updateKeys(peer);
    c.logger.info('interconnect_new_boot_epoch', { bootEpoch: c.bootEpoch.toString(), reason: 'seq_exhausted' });
    setImmediate(() => c.guard(() => {
      if (c.state !== 'running') return;
      for (const peer of c.peers.values()) {
        this.sendHello(peer);
        for (const s of c.sessions.values()) s.sent.delete(peer.key);
        c.announcing.announceAll(peer);
      }
      for (const s of c.sessions.values()) c.announcing.rebuildTargets(s);
    }));
  }

  /** Resolves when every control packet handed to a socket has left, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
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
}
