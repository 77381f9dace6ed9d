/**
 * Plain reflect fan-out without JavaScript per copy (issue 14; docs/performance.md, "What
 * would close the gap", item 4).
 *
 * The core keeps its sessions, latching and fan-out; it mirrors into this table, per media
 * socket (flow), the part that a plain session needs:
 *   - per session: whether it is "native ok" (the core decides: every recipient takes the
 *     datagram unchanged — no PT rewrite, no SRTP, no mixer, no relay, no telephone-event
 *     conversion) and its recipients (endpoint, address, port), in the core's order;
 *   - per latched source (address, port): its session and its own endpoint, which is skipped.
 * A datagram whose source is latched here, whose session is native ok, which is valid RTP
 * (not RTCP multiplexed on the port) and whose SSRC is the one last seen from that source is
 * fanned out by the table: one copy per recipient but the source's own endpoint, counted per
 * endpoint. Everything else — and the first datagram of every new SSRC, so the core learns it —
 * goes to the core as before.
 *
 * Two implementations of the same table, chosen by the sockets:
 *   - batched sockets (REFLECTOR_IO=mmsg, batched-udp.ts): the tables live in the addon
 *     (native/mmsg.c), which fans out inside its receive loop with one sendmmsg per received
 *     batch; such datagrams never reach JS.
 *   - node:dgram sockets (the fallback when the addon is not built): `offer()` does the same
 *     in JS, called by the datagram handler before anything else.
 * test/reflector/native-fanout.test.ts replays one packet sequence through both and compares
 * every datagram each recipient receives, the datagrams left to the core, and the counters.
 *
 * What the core no longer sees per datagram it reads here: `readCounters()` (the core polls it,
 * e.g. on its liveness sweep and before a status snapshot) reports per endpoint the packets and
 * bytes in and out and the last arrival time; sources latched with `trace` also report each
 * datagram's sequence number, PT, timestamp and arrival time (`drainTrace()`, run before the
 * core handles any other datagram, so its RTP statistics see them in arrival order).
 */
import type { RemoteInfo } from 'node:dgram';
import { parseRtpHeader, RtpHeader } from '../rtp/rtp-header.js';
import { BatchedUdpSocket, type BatchGroup, type MmsgAddon } from './batched-udp.js';
import { FLOW_AUDIO_RTP, FLOW_COUNT, flowIsRtcp, flowMedium, MEDIUM_AUDIO } from './media-kind.js';
import type { PacketSender } from './packet-sender.js';
import type { ParticipantState, StreamState } from './participant.js';
import { NO_PT } from './pt-table.js';
import type { SessionState } from './session.js';
import type { CoreUdpSocket } from './udp-socket.js';

/** Activity of one endpoint of one flow since the last read (datagrams fanned out by the table only). */
export interface FanoutCounts {
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  /** Date.now() of the last datagram from it; 0 when none arrived. */
  lastSeenMs: number;
}

/** Where the table reports what the core did not see. `E` is the core's endpoint (e.g. its stream). */
export interface FanoutSink<E> {
  counters(endpoint: E, flow: number, counts: Readonly<FanoutCounts>): void;
  /** One datagram of a source latched with `trace`, in arrival order. */
  trace(endpoint: E, flow: number, sequenceNumber: number, payloadType: number, timestamp: number, arrivalMs: number): void;
}

/** Doubles per endpoint in the counter array, per entry in the trace ring (as native/mmsg.c: FCS, FTS). */
const FCS = 5;
const FTS = 5;
const TRACE_ENTRIES = 4096;
const INITIAL_ENDPOINTS = 256;
const RTCP_MUX_FIRST = 192;
const RTCP_MUX_LAST = 223;

interface Recipient<E> {
  readonly endpoint: E;
  readonly ep: number;
  readonly address: string;
  readonly port: number;
}

class SessionEntry<E> {
  readonly id: number;
  ok = false;
  /** In the order the core gave them (the order copies leave in). */
  list: Recipient<E>[] = [];
  /** The sources setSources() latched for it last time. */
  sources: readonly { address: string; port: number }[] = [];

  constructor(id: number) {
    this.id = id;
  }
}

interface Source<E> {
  readonly session: SessionEntry<E>;
  readonly endpoint: E;
  readonly ep: number;
  readonly trace: boolean;
  /** JS table only: the SSRC last seen from it (the addon keeps its own). */
  ssrc: number;
  ssrcKnown: boolean;
}

/** The addon side of one batched socket. */
interface NativePort {
  readonly addon: MmsgAddon;
  readonly id: number;
  /** MEDIA_WORKERS threads on the socket: > 1 means counters and trace are merged from them on read. */
  readonly workers: number;
  readonly family: number;
}

/** The mirror of one flow's table, and for dgram sockets the table itself. */
class FlowTable<E> {
  readonly flow: number;
  readonly native: NativePort | null;
  readonly sender: PacketSender;
  readonly sessions = new Map<string, SessionEntry<E>>();
  /** address → port → source (nested, so a lookup builds no key string). */
  readonly sources = new Map<string, Map<number, Source<E>>>();
  sourceCount = 0;
  readonly eps = new Map<E, number>();
  readonly byEp: (E | null)[] = [];
  readonly freeEps: number[] = [];
  readonly freeSessions: number[] = [];
  nextSession = 0;
  counters = new Float64Array(INITIAL_ENDPOINTS * FCS);
  readonly ring = new Float64Array(1 + TRACE_ENTRIES * FTS);
  /** fanStats()[2] at the last read (native copies not sent). */
  failuresSeen = 0;
  readonly scratch = new Int32Array(5);

  readonly group: BatchGroup | null;

  constructor(flow: number, sender: PacketSender, native: NativePort | null, group: BatchGroup | null) {
    this.flow = flow;
    this.group = group;
    this.sender = sender;
    this.native = native;
    if (native !== null) {
      native.addon.fanCounters(native.id, this.counters);
      native.addon.fanTrace(native.id, this.ring);
    }
  }

  session(name: string): SessionEntry<E> {
    let s = this.sessions.get(name);
    if (s === undefined) {
      const id = this.freeSessions.pop() ?? this.nextSession++;
      s = new SessionEntry<E>(id);
      this.sessions.set(name, s);
    }
    return s;
  }

  ep(endpoint: E): number {
    let ep = this.eps.get(endpoint);
    if (ep !== undefined) return ep;
    ep = this.freeEps.pop() ?? this.byEp.length;
    this.eps.set(endpoint, ep);
    if (ep === this.byEp.length) this.byEp.push(endpoint);
    else this.byEp[ep] = endpoint;
    if ((ep + 1) * FCS > this.counters.length) {
      const grown = new Float64Array(this.counters.length * 2);
      grown.set(this.counters);
      this.counters = grown;
      if (this.native !== null) this.native.addon.fanCounters(this.native.id, grown);
    }
    return ep;
  }

  /** [scope, a0..a3] of `address` for this socket into `out`, or false when it cannot take it. */
  words(address: string, out: Int32Array): boolean {
    const n = this.native;
    return n !== null && n.addon.parseAddr(address, n.family, out);
  }

  /** The addon's tables changed: a run of datagrams being handled by JS stops after this one. */
  changed(): void {
    if (this.group !== null) this.group.tableGen++;
  }

  /** Pushes the session's flag and recipients to the addon (no-op for dgram). */
  push(s: SessionEntry<E>): void {
    const n = this.native;
    if (n === null) return;
    this.changed();
    const frd = n.addon.FRD;
    const desc = new Int32Array(Math.max(1, s.list.length) * frd);
    let ok = s.ok;
    for (let k = 0; k < s.list.length; k++) {
      const r = s.list[k];
      // A destination the socket cannot send to: the core's path counts a send error per
      // datagram for it, so the session stays with the core.
      if (!this.words(r.address, this.scratch) || r.port <= 0 || r.port > 65535) {
        ok = false;
        continue;
      }
      desc[k * frd] = r.ep;
      desc[k * frd + 1] = r.port;
      desc.set(this.scratch, k * frd + 2);
    }
    if (!ok) {
      n.addon.fanSession(n.id, s.id, 0);
      n.addon.fanRecipients(n.id, s.id, desc, 0);
      return;
    }
    n.addon.fanRecipients(n.id, s.id, desc, s.list.length);
    n.addon.fanSession(n.id, s.id, 1);
  }
}

const counts: FanoutCounts = { inPackets: 0, inBytes: 0, outPackets: 0, outBytes: 0, lastSeenMs: 0 };

export class NativeFanout<E> {
  readonly #flows: FlowTable<E>[];
  readonly #sink: FanoutSink<E>;
  readonly #rtp = new RtpHeader();
  /** True when the tables live in the addon (batched sockets). */
  readonly native: boolean;

  /**
   * `sockets[flow]`: the media sockets. All batched → the addon's fan-out (`group`: their
   * BatchGroup, whose `beforeRun` drains the trace before JS handles anything and whose
   * `tableGen` tells a run that the tables changed); otherwise the JS table over their senders.
   */
  constructor(sockets: readonly CoreUdpSocket[], sink: FanoutSink<E>, group: BatchGroup | null = null) {
    this.#sink = sink;
    const native = sockets.length > 0 && sockets.every((s) => s instanceof BatchedUdpSocket);
    this.native = native;
    this.#flows = sockets.map((s, flow) =>
      new FlowTable<E>(flow, s.sender, native && s instanceof BatchedUdpSocket ? { addon: s.addon, id: s.id, family: s.family, workers: s.workers } : null, group));
    if (native && group !== null) group.beforeRun = () => this.drainTrace();
  }

  /** The core's verdict for a session (all flows): plain reflect, or not. Recipients are kept. */
  setSessionFlag(session: string, nativeOk: boolean): void {
    for (const t of this.#flows) {
      const s = t.session(session);
      if (s.ok === nativeOk) continue;
      s.ok = nativeOk;
      t.push(s);
    }
  }

  /** Sets the recipients of `flow` in `session`, in send order (replaces the list). */
  setRecipients(flow: number, session: string, recipients: readonly { endpoint: E; address: string; port: number }[]): void {
    const t = this.#flows[flow];
    const s = t.session(session);
    const old = s.list;
    if (old.length === recipients.length && recipients.every((r, k) => r.endpoint === old[k].endpoint && r.address === old[k].address && r.port === old[k].port)) return;
    s.list = recipients.map((r) => ({ endpoint: r.endpoint, ep: t.ep(r.endpoint), address: r.address, port: r.port }));
    t.push(s);
  }

  /**
   * Sets the latched sources of `flow` in `session` (replaces what the last call set: sources
   * no longer listed are unlatched unless another session latched them since).
   */
  setSources(flow: number, session: string, sources: readonly { address: string; port: number; endpoint: E; trace: boolean }[]): void {
    const t = this.#flows[flow];
    const s = t.session(session);
    const listed = new Set(sources.map((x) => `${x.address}|${x.port}`));
    for (const old of s.sources) {
      if (listed.has(`${old.address}|${old.port}`)) continue;
      if (t.sources.get(old.address)?.get(old.port)?.session === s) this.unlatch(flow, old.address, old.port);
    }
    for (const x of sources) {
      const cur = t.sources.get(x.address)?.get(x.port);
      if (cur !== undefined && cur.session === s && cur.endpoint === x.endpoint && cur.trace === x.trace) continue;
      this.latchSource(flow, x.address, x.port, session, x.endpoint, x.trace);
    }
    s.sources = sources.map((x) => ({ address: x.address, port: x.port }));
  }

  /** Appends a recipient (or moves it to a new address: it keeps its place). */
  addRecipient(flow: number, session: string, endpoint: E, address: string, port: number): void {
    const t = this.#flows[flow];
    const s = t.session(session);
    const r: Recipient<E> = { endpoint, ep: t.ep(endpoint), address, port };
    const i = s.list.findIndex((x) => x.endpoint === endpoint);
    if (i >= 0) s.list[i] = r;
    else s.list.push(r);
    t.push(s);
  }

  removeRecipient(flow: number, session: string, endpoint: E): void {
    const t = this.#flows[flow];
    const s = t.sessions.get(session);
    if (s === undefined) return;
    const i = s.list.findIndex((x) => x.endpoint === endpoint);
    if (i < 0) return;
    s.list.splice(i, 1);
    t.push(s);
  }

  /** `address:port` on `flow` is `endpoint` of `session` (replaces an earlier latch of that source). */
  latchSource(flow: number, address: string, port: number, session: string, endpoint: E, trace: boolean): void {
    const t = this.#flows[flow];
    const s = t.session(session);
    const ep = t.ep(endpoint);
    let byPort = t.sources.get(address);
    if (byPort === undefined) {
      byPort = new Map();
      t.sources.set(address, byPort);
    }
    const old = byPort.get(port);
    if (old === undefined) t.sourceCount++;
    const keep = old !== undefined && old.session === s && old.ep === ep;
    byPort.set(port, { session: s, endpoint, ep, trace, ssrc: keep ? old.ssrc : 0, ssrcKnown: keep && old.ssrcKnown });
    const n = t.native;
    if (n !== null && t.words(address, t.scratch)) {
      t.changed();
      n.addon.fanSource(n.id, t.scratch, port, s.id, ep, trace ? 1 : 0);
    }
  }

  unlatch(flow: number, address: string, port: number): void {
    const t = this.#flows[flow];
    const byPort = t.sources.get(address);
    if (byPort === undefined || !byPort.delete(port)) return;
    t.sourceCount--;
    if (byPort.size === 0) t.sources.delete(address);
    const n = t.native;
    if (n !== null && t.words(address, t.scratch)) {
      t.changed();
      n.addon.fanUnlatch(n.id, t.scratch, port);
    }
  }

  /** True when the table knows `session`. */
  hasTable(session: string): boolean {
    return this.#flows.some((t) => t.sessions.has(session));
  }

  /** Forgets a session: its sources are unlatched, its recipients dropped, its id reused. */
  removeSession(session: string): void {
    for (const t of this.#flows) {
      const s = t.sessions.get(session);
      if (s === undefined) continue;
      for (const x of s.sources) if (t.sources.get(x.address)?.get(x.port)?.session === s) this.unlatch(t.flow, x.address, x.port);
      s.ok = false;
      s.list = [];
      s.sources = [];
      t.push(s);
      t.sessions.delete(session);
      t.freeSessions.push(s.id);
    }
  }

  /**
   * Forgets an endpoint that left: its latched sources and recipient places are dropped,
   * its last counters reported, and its number reused.
   */
  forget(endpoint: E): void {
    this.drainTrace();
    for (const t of this.#flows) {
      const ep = t.eps.get(endpoint);
      if (ep === undefined) continue;
      for (const [address, byPort] of t.sources) {
        for (const [port, src] of byPort) if (src.ep === ep) this.unlatch(t.flow, address, port);
      }
      for (const [name, s] of t.sessions) if (s.list.some((r) => r.ep === ep)) this.removeRecipient(t.flow, name, endpoint);
      this.#report(t, ep);
      t.eps.delete(endpoint);
      t.byEp[ep] = null;
      t.freeEps.push(ep);
    }
  }

  /**
   * Reports (and zeroes) every endpoint's activity since the last read; returns the copies
   * the addon could not send since then (the core counts them as send errors, as it does its own).
   */
  readCounters(): number {
    for (const t of this.#flows) {
      const n = t.native;
      if (n === null || n.workers <= 1) continue;
      n.addon.fanMerge(n.id); // the workers' counters and trace into this thread's arrays
    }
    this.drainTrace();
    let failures = 0;
    for (const t of this.#flows) {
      for (let ep = 0; ep < t.byEp.length; ep++) if (t.byEp[ep] !== null) this.#report(t, ep);
      const n = t.native;
      if (n !== null) {
        const f = n.addon.fanStats(n.id)[2] ?? 0;
        failures += f - t.failuresSeen;
        t.failuresSeen = f;
      }
    }
    return failures;
  }

  /** Hands the trace of natively fanned datagrams to the sink, in arrival order per flow. */
  drainTrace(): void {
    for (const t of this.#flows) {
      const ring = t.ring;
      const n = ring[0];
      if (n === 0) continue;
      for (let k = 0; k < n; k++) {
        const o = 1 + k * FTS;
        const endpoint = t.byEp[ring[o]];
        if (endpoint !== null && endpoint !== undefined) this.#sink.trace(endpoint, t.flow, ring[o + 1], ring[o + 2], ring[o + 3], ring[o + 4]);
      }
      ring[0] = 0;
    }
  }

  /**
   * The JS table (node:dgram sockets): fans `buf` out when the table covers it, and says so;
   * false = the core handles it (the trace is drained first). Always false with batched
   * sockets (the addon decided already).
   */
  offer(flow: number, buf: Buffer, rinfo: RemoteInfo): boolean {
    if (this.native) return false;
    if (this.#offer(flow, buf, rinfo)) return true;
    this.drainTrace(); // the core handles this one: it sees the earlier ones first
    return false;
  }

  #offer(flow: number, buf: Buffer, rinfo: RemoteInfo): boolean {
    const t = this.#flows[flow];
    if (t.sourceCount === 0) return false;
    const src = t.sources.get(rinfo.address)?.get(rinfo.port);
    if (src === undefined || !src.session.ok) return false;
    const len = buf.length;
    if (len >= 2 && buf[1] >= RTCP_MUX_FIRST && buf[1] <= RTCP_MUX_LAST) return false;
    if (parseRtpHeader(buf, this.#rtp) !== null) return false;
    const ssrc = this.#rtp.ssrc;
    if (!src.ssrcKnown || src.ssrc !== ssrc) {
      src.ssrc = ssrc;
      src.ssrcKnown = true;
      return false;
    }
    const ring = t.ring;
    if (src.trace && 1 + (ring[0] + 1) * FTS > ring.length) return false;
    const now = Date.now();
    const c = t.counters;
    let o = src.ep * FCS;
    c[o] += 1;
    c[o + 1] += len;
    c[o + 4] = now;
    if (src.trace) {
      const e = 1 + ring[0] * FTS;
      ring[e] = src.ep;
      ring[e + 1] = this.#rtp.sequenceNumber;
      ring[e + 2] = this.#rtp.payloadType;
      ring[e + 3] = this.#rtp.timestamp;
      ring[e + 4] = now;
      ring[0]++;
    }
    const list = src.session.list;
    for (let k = 0; k < list.length; k++) {
      const r = list[k];
      if (r.ep === src.ep) continue;
      t.sender.send(buf, r.port, r.address);
      o = r.ep * FCS;
      c[o + 2] += 1;
      c[o + 3] += len;
    }
    return true;
  }

  #report(t: FlowTable<E>, ep: number): void {
    const c = t.counters;
    const o = ep * FCS;
    if (c[o] === 0 && c[o + 2] === 0) return;
    const endpoint = t.byEp[ep];
    counts.inPackets = c[o];
    counts.inBytes = c[o + 1];
    counts.outPackets = c[o + 2];
    counts.outBytes = c[o + 3];
    counts.lastSeenMs = c[o + 4];
    c.fill(0, o, o + FCS);
    if (endpoint !== null && endpoint !== undefined) this.#sink.counters(endpoint, t.flow, counts);
  }
}

/** True when `t` maps every number to itself or to nothing (NO_PT: sent unchanged). */
function identityPt(t: Uint8Array): boolean {
  for (let i = 0; i < t.length; i++) if (t[i] !== NO_PT && t[i] !== i) return false;
  return true;
}

/**
 * The core's verdict on a session: every recipient takes each RTP datagram unchanged and
 * nothing but the recipients wants it — no relay, no mixer participant, no SRTP, no PT
 * rewrite, no telephone-event converted or withheld.
 */
export function plainSession(session: SessionState, relayActive: boolean, mixerActive: boolean): boolean {
  if (relayActive || (mixerActive && session.mixCount > 0)) return false;
  for (const p of session.participants.values()) {
    for (const s of p.streams) {
      if (s === null) continue;
      if (s.srtp !== null || !identityPt(s.inPt) || !identityPt(s.outPt)) return false;
      if (s.mediumIndex !== MEDIUM_AUDIO || !s.receives) continue;
      for (let c = 0; c < s.outPt.length; c++) if (session.telephoneEventRate[c] !== 0 && s.outPt[c] !== c) return false;
    }
  }
  return true;
}

/**
 * The core's side of the table: mirrors a session (flag, recipients, latched sources of its
 * RTP flows) after the core rebuilt its recipient lists, and puts what the table counted
 * into the core's streams (counters, last activity, RTP statistics).
 */
export class CoreFanout {
  readonly #fan: NativeFanout<StreamState>;

  constructor(sockets: readonly CoreUdpSocket[], group: BatchGroup) {
    this.#fan = new NativeFanout<StreamState>(sockets, {
      counters(s: StreamState, _flow: number, c: Readonly<FanoutCounts>): void {
        const k = s.counters;
        k.rtpPacketsIn += c.inPackets;
        k.rtpBytesIn += c.inBytes;
        k.rtpPacketsOut += c.outPackets;
        k.rtpBytesOut += c.outBytes;
        if (c.lastSeenMs > s.participant.lastActivityAt) s.participant.lastActivityAt = c.lastSeenMs;
      },
      trace(s: StreamState, _flow: number, seq: number, pt: number, timestamp: number, arrivalMs: number): void {
        s.quality.onRtp(seq, pt, timestamp, arrivalMs);
      },
    }, group);
  }

  /** After `session.rebuildTargets()`. */
  sync(session: SessionState, relayActive: boolean, mixerActive: boolean): void {
    const name = session.name;
    const fan = this.#fan;
    const plain = plainSession(session, relayActive, mixerActive);
    // A session that never was plain stays out of the table (its datagrams go to the core anyway).
    if (!plain && !fan.hasTable(name)) return;
    for (let flow = 0; flow < FLOW_COUNT; flow++) {
      if (flowIsRtcp(flow)) continue;
      const recipients: { endpoint: StreamState; address: string; port: number }[] = [];
      for (const t of session.targets[flow]) {
        const s = t.participant.streams[flowMedium(flow)];
        if (s !== null) recipients.push({ endpoint: s, address: t.address, port: t.port });
      }
      fan.setRecipients(flow, name, recipients);
      const sources: { address: string; port: number; endpoint: StreamState; trace: boolean }[] = [];
      for (const p of session.participants.values()) {
        const s = p.streams[flowMedium(flow)];
        const ip = s?.latchedIp[0];
        if (s === null || ip === null || ip === undefined || !s.sends) continue;
        sources.push({ address: ip, port: s.latchedPort[0], endpoint: s, trace: flow === FLOW_AUDIO_RTP });
      }
      fan.setSources(flow, name, sources);
    }
    fan.setSessionFlag(name, plain);
  }

  /** A participant left (before its session is rebuilt): its last counters, its numbers freed. */
  forget(p: ParticipantState): void {
    for (const s of p.streams) if (s !== null) this.#fan.forget(s);
  }

  removeSession(name: string): void {
    this.#fan.removeSession(name);
  }

  /** Reads the table's counters into the streams; returns copies not sent since the last call. */
  poll(): number {
    return this.#fan.readCounters();
  }

  /** node:dgram: fans `buf` out when the table covers it (see NativeFanout.offer). */
  offer(flow: number, buf: Buffer, rinfo: RemoteInfo): boolean {
    return this.#fan.offer(flow, buf, rinfo);
  }
}
