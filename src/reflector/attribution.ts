/**
 * Attribution of datagrams to participants by source address, and latching
 * (SPEC §5). Per flow (audio RTP, audio RTCP, video RTP, video RTCP):
 *
 * - `sources[flow]`: latched source → stream; the per-packet lookup.
 * - on a miss, resolve() applies the latching rules in order:
 *   1. the source equals a stream's SDP address and port for that flow exactly;
 *   2. the packet carries an SSRC known for a stream (a=ssrc or learned from its
 *      latched RTP) and comes from that participant's SDP IP, SIP-signalling IP
 *      or an IP it already proved — or, when that flow is latched already, from
 *      the latched IP only (NAT rebinding to a new port; another IP never);
 *   3. it is the only participant from that IP still waiting for this flow.
 *   Anything else is dropped with the reason left in `lastDrop`.
 */
import { rtpSsrc } from '../rtp/packet-class.js';
import { rtcpSenderSsrc } from '../rtp/rtcp-compound.js';
import { normalizeIp, SourceMap } from './ip-key.js';
import { FLOW_COUNT, flowIsRtcp, flowMedium } from './media-kind.js';
import { MAX_KNOWN_SSRCS, type ParticipantState, type StreamState } from './participant.js';
import { ReflectorDrop } from './drop-reasons.js';

export class Attribution {
  /** Latched sources by flow. */
  readonly sources: SourceMap<StreamState>[] = [];
  /** SDP address:port by flow (rule 1); several participants may claim the same one. */
  readonly #sdp: SourceMap<StreamState[]>[] = [];
  /** Participants by SDP IP and signalling IP (rule 3). */
  readonly #byIp = new Map<string, Set<ParticipantState>>();
  /** Streams by known SSRC, per medium index (rule 2 and keep-alive). */
  readonly #bySsrc: Map<number, StreamState[]>[] = [new Map(), new Map()];
  /** Why the last resolve() returned null. */
  lastDrop: ReflectorDrop = ReflectorDrop.UnknownSource;

  constructor() {
    for (let f = 0; f < FLOW_COUNT; f++) {
      this.sources.push(new SourceMap());
      this.#sdp.push(new SourceMap());
    }
  }

  /** Indexes a participant's SDP addresses, IPs and SSRCs (join, after update). */
  add(p: ParticipantState): void {
    this.#indexIp(p.signalingIp, p);
    for (const s of p.streams) {
      if (s === null) continue;
      if (s.enabled) {
        this.#indexIp(s.sdpIp, p);
        for (const rtcp of [0, 1] as const) {
          const port = s.sdpPort[rtcp];
          if (port === 0) continue;
          const flow: number = s.mediumIndex * 2 + rtcp;
          const list: StreamState[] | undefined = this.#sdp[flow].get(s.sdpIp, port);
          if (list === undefined) this.#sdp[flow].set(s.sdpIp, port, [s]);
          else if (!list.includes(s)) list.push(s);
        }
      }
      for (const ssrc of s.knownSsrcs) this.#indexSsrc(s, ssrc);
      for (const rtcp of [0, 1] as const) {
        const ip = s.latchedIp[rtcp];
        if (ip !== null) this.sources[s.mediumIndex * 2 + rtcp].set(ip, s.latchedPort[rtcp], s);
      }
    }
  }

  /** Removes every index entry of a participant (leave, before update). */
  remove(p: ParticipantState): void {
    this.#unindexIp(p.signalingIp, p);
    for (const s of p.streams) {
      if (s === null) continue;
      this.#unindexIp(s.sdpIp, p);
      for (const rtcp of [0, 1] as const) {
        const flow: number = s.mediumIndex * 2 + rtcp;
        const port = s.sdpPort[rtcp];
        if (port !== 0) {
          const list: StreamState[] | undefined = this.#sdp[flow].get(s.sdpIp, port);
          if (list !== undefined) {
            const i = list.indexOf(s);
            if (i >= 0) list.splice(i, 1);
            if (list.length === 0) this.#sdp[flow].delete(s.sdpIp, port);
          }
        }
        const ip = s.latchedIp[rtcp];
        if (ip !== null && this.sources[flow].get(ip, s.latchedPort[rtcp]) === s) {
          this.sources[flow].delete(ip, s.latchedPort[rtcp]);
        }
      }
      for (const ssrc of s.knownSsrcs) this.#unindexSsrc(s, ssrc);
    }
  }

  /**
   * Finds the stream a datagram from an unlatched source belongs to (rules 1–3),
   * or null with `lastDrop` set. Does not latch; the caller does, with latch().
   * `rtcpPacket`: the datagram is RTCP (also RTCP multiplexed on an RTP port, RFC 5761).
   */
  resolve(flow: number, ip: string, port: number, buf: Buffer, rtcpPacket = flowIsRtcp(flow)): StreamState | null {
    const rtcp = flowIsRtcp(flow) ? 1 : 0;
    const medium = flowMedium(flow);
    // Rule 1: exact SDP address and port.
    const exact = this.#sdp[flow].get(ip, port);
    if (exact !== undefined && exact.length > 0) {
      for (const s of exact) if (s.latchedIp[rtcp] === null) return s;
      return exact[0];
    }
    const ipN = normalizeIp(ip);
    // Rule 2: a known SSRC from one of the participant's IPs (or NAT rebinding on the latched IP).
    const ssrc = rtcpPacket ? rtcpSenderSsrc(buf) : rtpSsrc(buf);
    let foreign = false;
    if (ssrc >= 0) {
      const cands = this.#bySsrc[medium].get(ssrc);
      if (cands !== undefined) {
        const found = pickBySsrc(cands, rtcp, ipN);
        if (found !== null && found !== AMBIGUOUS) return found;
        if (found === AMBIGUOUS) {
          this.lastDrop = ReflectorDrop.AmbiguousSource;
          return null;
        }
        foreign = true;
      }
    }
    // Rule 3: the only participant from this IP still waiting for this flow.
    const set = this.#byIp.get(ipN);
    if (set !== undefined) {
      let only: StreamState | null = null;
      let n = 0;
      for (const p of set) {
        const s = p.streams[medium];
        if (s === null || !s.enabled || s.latchedIp[rtcp] !== null) continue;
        only = s;
        n++;
      }
      if (n === 1) return only;
      if (n > 1) {
        this.lastDrop = ReflectorDrop.AmbiguousSource;
        return null;
      }
    }
    this.lastDrop = foreign ? ReflectorDrop.ForeignIp : ReflectorDrop.UnknownSource;
    return null;
  }

  /**
   * Streams of `medium` that know `ssrc` and accept a packet from `ip` (keep-alive, SPEC §5):
   * the one match, or null (none, or ambiguous).
   */
  findBySsrc(medium: number, ssrc: number, ip: string): StreamState | null {
    const cands = this.#bySsrc[medium].get(ssrc);
    if (cands === undefined) return null;
    const ipN = normalizeIp(ip);
    let found: StreamState | null = null;
    for (const s of cands) {
      const p = s.participant;
      if (!s.enabled) continue;
      if (!(p.ownsIp(ipN) || p.confirmedIps.has(ipN))) continue;
      if (found !== null && found !== s) return null;
      found = s;
    }
    return found;
  }

  /**
   * Binds (ip, port) of `flow` to `stream`, replacing the stream's previous source for
   * that flow. Returns the stream that owned (ip, port) before and lost it, or null.
   */
  latch(stream: StreamState, flow: number, ip: string, port: number): StreamState | null {
    const rtcp = flowIsRtcp(flow) ? 1 : 0;
    const old = stream.latchedIp[rtcp];
    if (old !== null && this.sources[flow].get(old, stream.latchedPort[rtcp]) === stream) {
      this.sources[flow].delete(old, stream.latchedPort[rtcp]);
    }
    const previous = this.sources[flow].get(ip, port);
    let lost: StreamState | null = null;
    if (previous !== undefined && previous !== stream) {
      // The source moved to another participant (rule 1 or keep-alive): unbind the old owner.
      previous.latchedIp[rtcp] = null;
      previous.iceNominated[rtcp] = false;
      previous.latchedPort[rtcp] = 0;
      lost = previous;
    }
    stream.latchedIp[rtcp] = ip;
    stream.latchedPort[rtcp] = port;
    this.sources[flow].set(ip, port, stream);
    stream.participant.confirmedIps.add(normalizeIp(ip));
    return lost;
  }

  /** Records an SSRC seen in a stream's latched RTP (bounded per stream). */
  learnSsrc(stream: StreamState, ssrc: number): void {
    if (stream.knowsSsrc(ssrc) || stream.knownSsrcs.length >= MAX_KNOWN_SSRCS) return;
    stream.knownSsrcs.push(ssrc);
    this.#indexSsrc(stream, ssrc);
  }

  clear(): void {
    for (const m of this.sources) m.clear();
    for (const m of this.#sdp) m.clear();
    this.#byIp.clear();
    for (const m of this.#bySsrc) m.clear();
  }

  #indexIp(ip: string, p: ParticipantState): void {
    if (ip === '') return;
    let set = this.#byIp.get(ip);
    if (set === undefined) {
      set = new Set();
      this.#byIp.set(ip, set);
    }
    set.add(p);
  }

  #unindexIp(ip: string, p: ParticipantState): void {
    const set = this.#byIp.get(ip);
    if (set === undefined) return;
    set.delete(p);
    if (set.size === 0) this.#byIp.delete(ip);
  }

  #indexSsrc(s: StreamState, ssrc: number): void {
    const map = this.#bySsrc[s.mediumIndex];
    const list = map.get(ssrc);
    if (list === undefined) map.set(ssrc, [s]);
    else if (!list.includes(s)) list.push(s);
  }

  #unindexSsrc(s: StreamState, ssrc: number): void {
    const map = this.#bySsrc[s.mediumIndex];
    const list = map.get(ssrc);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(ssrc);
  }
}

const AMBIGUOUS = Symbol('ambiguous');

function pickBySsrc(cands: readonly StreamState[], rtcp: 0 | 1, ipN: string): StreamState | null | typeof AMBIGUOUS {
  let found: StreamState | null = null;
  for (const s of cands) {
    if (!s.enabled) continue;
    const latched = s.latchedIp[rtcp];
    let ok: boolean;
    if (latched !== null) {
      // NAT rebinding: a new port on the same IP only.
      ok = normalizeIp(latched) === ipN;
    } else {
      const p = s.participant;
      ok = p.ownsIp(ipN) || p.confirmedIps.has(ipN);
    }
    if (!ok) continue;
    if (found !== null && found !== s) return AMBIGUOUS;
    found = s;
  }
  return found;
}
