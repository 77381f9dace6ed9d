/**
 * The relay's send side, the hot path: one datagram to the peers that get it, with
 * a version-1 shim (precomputed per session, medium and hop), a version-2 shim or a
 * protected version-3 header. Headers are written into a ring of preallocated slots
 * (dgram reads a buffer after a nextTick lookup, so a slot is not reused for
 * SHIM_RING_SLOTS sends); the send lists are reused. Nothing is allocated per packet.
 */
import {
  RELAY_MAX_HOPS,
  RELAY_SHIM2_SIZE,
  RELAY_SHIM3_SIZE,
  RELAY_SHIM_SIZE,
  RelayMedium,
  writeRelayShim2,
  writeRelayShim3,
} from '../rtp/relay-shim.js';
import { InterconnectDrop } from './drop-reasons.js';
import type { LocalSession } from './local-session.js';
import type { Peer } from './peer.js';

/** Version-2 shim slots in the send ring (see the file comment). */
const SHIM_RING_SLOTS = 4096;

export class RelaySender {
  /** Counts (and logs) a datagram not sent; called only when one is dropped. */
  readonly #onDrop: (reason: string, detail?: string) => void;
  /** Version-2 and -3 headers being sent (see the file comment); slots of RELAY_SHIM3_SIZE. */
  readonly #shimRing = Buffer.alloc(SHIM_RING_SLOTS * RELAY_SHIM3_SIZE);
  /** Views of the ring's slots, made once: version-2 (16 bytes) and version-3 (24 bytes) headers. */
  readonly #slots2: Buffer[] = [];
  readonly #slots3: Buffer[] = [];
  #shimSlot = 0;
  /** Reused send list of a protected datagram: header, ciphertext, tag. */
  readonly #sealedList: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)];
  /** Reused send list; dgram copies it before send() returns. */
  readonly #sendList: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)];

  constructor(onDrop: (reason: string, detail?: string) => void) {
    this.#onDrop = onDrop;
    for (let i = 0; i < SHIM_RING_SLOTS; i++) {
      const at = i * RELAY_SHIM3_SIZE;
      this.#slots2.push(this.#shimRing.subarray(at, at + RELAY_SHIM2_SIZE));
      this.#slots3.push(this.#shimRing.subarray(at, at + RELAY_SHIM3_SIZE));
    }
  }

  /**
   * Sends one datagram on: to version-1 peers with a version-1 shim, to the version-2 peers
   * that joined `origin` with a version-2 shim. `originSeq` -1: a datagram entering here
   * (we are its origin), numbered from our counter. Never to `except` (split horizon).
   */
  relayOut(entry: LocalSession, m: RelayMedium, rtcp: boolean, packet: Buffer, hop: number,
    origin: number, originSeq: number, except: Peer | null): void {
    const legacy = entry.legacyTo;
    const targets = entry.targets.get(origin);
    const nTargets = targets === undefined ? 0 : targets.length;
    if (legacy.length === 0 && nTargets === 0) return;
    if (hop > RELAY_MAX_HOPS) {
      // The last resort against loops (through version-1 peers); counted when it stops something.
      if (nTargets > 0 || legacy.length > 1 || (legacy.length === 1 && legacy[0] !== except)) this.#onDrop(InterconnectDrop.RelayHopLimit);
      return;
    }
    const list = this.#sendList;
    list[1] = packet;
    if (legacy.length > 0) {
      list[0] = entry.shims[m * RELAY_MAX_HOPS + hop - 1];
      const bytes = RELAY_SHIM_SIZE + packet.length;
      for (let i = 0; i < legacy.length; i++) {
        const peer = legacy[i];
        if (peer !== except) this.#sendRelay(peer, rtcp, list, bytes);
      }
    }
    if (targets === undefined || nTargets === 0) return;
    let seq = originSeq;
    if (seq < 0) {
      const flow = m * 2 + (rtcp ? 1 : 0);
      seq = entry.originSeq[flow] = (entry.originSeq[flow] + 1) >>> 0;
    }
    let plainShim: Buffer | undefined;
    const bytes = RELAY_SHIM2_SIZE + packet.length;
    for (let i = 0; i < nTargets; i++) {
      const peer = targets[i];
      if (peer === except) continue;
      if (peer.secret !== undefined) {
        this.#sendSealed(peer, rtcp, m, hop, entry.relayId, origin, seq, packet);
        continue;
      }
      if (plainShim === undefined) {
        const slot = this.#takeSlot();
        writeRelayShim2(m, hop, entry.relayId, origin, seq, this.#shimRing, slot * RELAY_SHIM3_SIZE);
        plainShim = this.#slots2[slot];
      }
      list[0] = plainShim;
      list[1] = packet;
      this.#sendRelay(peer, rtcp, list, bytes);
    }
  }

  /** The next ring slot (its header bytes start at slot * RELAY_SHIM3_SIZE). */
  #takeSlot(): number {
    const slot = this.#shimSlot;
    this.#shimSlot = (slot + 1) % SHIM_RING_SLOTS;
    return slot;
  }

  /** A protected datagram (version 3) to a peer with a secret: its own SEQ, sealed with its key. */
  #sendSealed(peer: Peer, rtcp: boolean, m: RelayMedium, hop: number, relayId: number,
    origin: number, originSeq: number, packet: Buffer): void {
    const sealer = peer.sealer;
    if (sealer === undefined) {
      this.#onDrop(InterconnectDrop.RelayNoKey, peer.key); // its HELLO (NODE_ID, BOOT_EPOCH) not yet seen
      return;
    }
    const seq = sealer.next();
    if (seq < 0) {
      this.#onDrop(InterconnectDrop.RelayKeyExhausted, peer.key);
      return;
    }
    const slot = this.#takeSlot();
    writeRelayShim3(m, hop, relayId, origin, originSeq, seq, this.#shimRing, slot * RELAY_SHIM3_SIZE);
    const header = this.#slots3[slot];
    const [ct, tag] = sealer.seal(seq, header, packet);
    const list = this.#sealedList;
    list[0] = header;
    list[1] = ct;
    list[2] = tag;
    this.#sendRelay(peer, rtcp, list, RELAY_SHIM3_SIZE + ct.length + tag.length);
  }

  #sendRelay(peer: Peer, rtcp: boolean, list: Buffer[], bytes: number): void {
    const pair = peer.pair;
    if (pair === undefined || !pair.ready) return;
    if (rtcp) pair.rtcp.send(list, peer.rtcpRelayPort, peer.sendAddress);
    else pair.rtp.send(list, peer.rtpRelayPort, peer.sendAddress);
    peer.relayPacketsOut++;
    peer.relayBytesOut += bytes;
  }
}
