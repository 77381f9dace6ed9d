/**
 * The reflector core (SPEC §5): owns the media, keep-alive and check-IP
 * sockets; attributes datagrams to participants by source address; fans RTP
 * and RTCP out to the other participants of the session through precomputed
 * recipient lists; hands datagrams to the interconnect, the mixer and the
 * RFLX handler through the hooks of api.ts.
 *
 * Data flow per datagram: socket → validate into a reused object → source
 * lookup (latch on a miss) → session.targets[flow] → PacketSender.send().
 * Nothing on that path allocates, logs, or creates closures, except a copy
 * of the datagram when a recipient needs another PT number (see #withPt).
 */
import { randomBytes } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import type { Config } from '../config/types.js';
import type { Component } from '../runtime/component.js';
import { DropCounter } from '../runtime/drop-counter.js';
import type { Logger } from '../runtime/logger.js';
import { TimerSet } from '../runtime/timer-set.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import { parseRtpHeader, RtpHeader } from '../rtp/rtp-header.js';
import {
  AdmissionError,
  type CallQuality,
  type CodecMapping,
  type CoreEvents,
  type LeaveReason,
  type Medium,
  type MixerPort,
  type ParticipantSnapshot,
  type ReflectorCore,
  type RelayPort,
  type RflxHandler,
  type SessionCodec,
  type SessionSnapshot,
  type StreamSpec,
  type JoinRequest,
} from './api.js';
import { Attribution } from './attribution.js';
import { CheckIpServer } from './checkip-server.js';
import { allowedDestination } from './destination.js';
import { ReflectorDrop } from './drop-reasons.js';
import { formatEndpoint, normalizeIp } from './ip-key.js';
import {
  FLOW_AUDIO_RTCP,
  FLOW_AUDIO_RTP,
  FLOW_COUNT,
  flowIndex,
  flowIsRtcp,
  flowMedium,
  MEDIUM_AUDIO,
  mediumIndex,
  mediumOfIndex,
} from './media-kind.js';
import type { PacketSender, SendErrorCounter } from './packet-sender.js';
import { BatchedUdpSocket, BatchGroup, chooseIo, type IoMode } from './batched-udp.js';
import { ParticipantState, StreamState } from './participant.js';
import { NO_PT } from './pt-table.js';
import { TelephoneEventConverter } from './telephone-event.js';
import { QualityReader, SrLog } from './call-quality.js';
import { RtcpInspection, RtcpInspector } from './rtcp-inspector.js';
import { SessionState, type Target } from './session.js';
import { bindDgramCoreSocket, udpTypeFor, type CoreUdpSocket, type DatagramHandler } from './udp-socket.js';
import { KeepaliveResponder } from './keepalive.js';
import { HostPolicy } from './host-policy.js';

function quality(p: ParticipantState): { quality?: CallQuality } {
  const q = p.streams[MEDIUM_AUDIO]?.quality.snapshot();
  return q === undefined ? {} : { quality: q };
}

function isWildcardListen(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Sends nothing: the senders before start() and after close(). */
const NULL_SENDER: PacketSender = { send: () => undefined };

/** The liveness sweep runs at most this often, and at least 4 times per timeout. */
const SWEEP_MAX_INTERVAL_MS = 1000;
const SWEEP_MIN_INTERVAL_MS = 50;
/** At most one log line per this interval for our own bugs caught by the backstop. */
const INTERNAL_ERROR_LOG_INTERVAL_MS = 10_000;
const RTP_MIN_SIZE = 12;
const RTCP_MIN_SIZE = 8;
const PT_TABLE_SIZE = 128;

export class ReflectorCoreImpl implements ReflectorCore, Component {
  readonly events = new TypedEmitter<CoreEvents>();

  #config: Config;
  readonly #log: Logger;
  readonly #sessions = new Map<string, SessionState>();
  readonly #participants = new Map<string, ParticipantState>();
  readonly #attr = new Attribution();
  readonly #timers = new TimerSet();
  readonly #udp6: boolean;
  #hosts: HostPolicy;

  #mediaSockets: CoreUdpSocket[] = [];
  #keepaliveSockets: CoreUdpSocket[] = [];
  /** The I/O of the UDP sockets (REFLECTOR_IO), chosen at start(). */
  #ioMode: IoMode = 'dgram';
  /** The batched sockets' shared state; its arenas are empty with dgram. */
  readonly #batch = new BatchGroup();
  #checkIp: CheckIpServer | null = null;
  /** Senders by flow (symmetric RTP: a flow is sent from the socket it arrives on). */
  #senders: PacketSender[] = [NULL_SENDER, NULL_SENDER, NULL_SENDER, NULL_SENDER];
  #keepaliveSenders: PacketSender[] = [NULL_SENDER, NULL_SENDER, NULL_SENDER, NULL_SENDER];
  readonly #mediaHandlers: ((msg: Buffer, rinfo: RemoteInfo) => void)[] = [];
  readonly #keepaliveHandlers: ((msg: Buffer, rinfo: RemoteInfo) => void)[] = [];
  readonly #onSocketError: (err: Error) => void;

  #relay: RelayPort | null = null;
  #rflx: RflxHandler | null = null;
  #mixer: MixerPort | null = null;

  #started = false;
  #closed = false;

  // Counters: plain numbers in preallocated objects.
  readonly #drops: Record<ReflectorDrop, number>;
  /** Drop reasons of the wire codecs (rtp_bad_version, rtcp_length_overrun, …). */
  readonly #codecDrops = new DropCounter();
  readonly #sendErrors: SendErrorCounter = { sendErrors: 0 };
  #socketErrors = 0;
  #rflxConsumed = 0;
  /** Telephone-event converted between clock rates, or withheld from recipients that did not negotiate it. */
  readonly #telephoneEvents = new TelephoneEventConverter();
  /** Call quality: RTCP reader, and per session the SRs that left towards its participants (for RTT). */
  readonly #qualityReader = new QualityReader();
  readonly #srLogs = new WeakMap<SessionState, SrLog>();
  #hookErrors = 0;
  #lastInternalLogAt = 0;

  // Hot-path scratch, reused for every datagram.
  readonly #rtp = new RtpHeader();
  readonly #inspector = new RtcpInspector();
  readonly #rtcp = new RtcpInspection();
  readonly #keepalive: KeepaliveResponder;
  /** Per-datagram cache of PT-rewritten copies: #copyBuf[pt] is valid while #copyGen[pt] === #gen. */
  #gen = 0;
  readonly #copyGen = new Uint32Array(PT_TABLE_SIZE);
  readonly #copyBuf: (Buffer | null)[] = new Array<Buffer | null>(PT_TABLE_SIZE).fill(null);

  constructor(config: Config, logger: Logger) {
    this.#config = config;
    this.#log = logger;
    this.#udp6 = udpTypeFor(config.listenAddress) === 'udp6';
    this.#hosts = new HostPolicy(config.hostsAllow, config.hostsDeny);
    const drops = {} as Record<ReflectorDrop, number>;
    for (const reason of Object.values(ReflectorDrop)) drops[reason] = 0;
    this.#drops = drops;
    this.#keepalive = new KeepaliveResponder();
    this.#onSocketError = () => {
      this.#socketErrors++;
    };
    // One handler per socket, created once.
    for (let f = 0; f < FLOW_COUNT; f++) {
      this.#mediaHandlers.push((msg, rinfo) => this.#onMedia(f, msg, rinfo));
      this.#keepaliveHandlers.push((msg, rinfo) => this.#onKeepalive(f, msg, rinfo));
    }
  }

  // ── Component ─────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const c = this.#config;
    const addr = c.listenAddress;
    const mediaPorts = [c.audioPort, c.audioPort + 1, c.videoPort, c.videoPort + 1];
    let io;
    try {
      io = chooseIo(this.#config.reflectorIo);
    } catch (err) {
      this.#started = false;
      throw err;
    }
    const addon = io.addon;
    this.#ioMode = io.mode;
    const bind = (port: number, handler: DatagramHandler): Promise<CoreUdpSocket> =>
      addon === null
        ? bindDgramCoreSocket(addr, port, handler, this.#onSocketError, this.#sendErrors)
        : Promise.resolve().then(() => BatchedUdpSocket.open(addon, addr, port, handler, this.#batch, this.#sendErrors));
    try {
      for (let f = 0; f < FLOW_COUNT; f++) {
        this.#mediaSockets.push(await bind(mediaPorts[f], this.#mediaHandlers[f]));
      }
      const ka = c.keepalivePorts;
      for (let i = 0; i < FLOW_COUNT && ka.first + i <= ka.last; i++) {
        this.#keepaliveSockets.push(await bind(ka.first + i, this.#keepaliveHandlers[i]));
      }
      const checkIp = new CheckIpServer();
      this.#checkIp = checkIp;
      await checkIp.listen(addr, c.checkipPort);
    } catch (err) {
      await this.#closeSockets();
      this.#started = false;
      throw err;
    }
    this.#senders = this.#mediaSockets.map((s) => s.sender);
    this.#keepaliveSenders = this.#keepaliveSockets.map((s) => s.sender);
    while (this.#keepaliveSenders.length < FLOW_COUNT) this.#keepaliveSenders.push(NULL_SENDER);
    this.#scheduleSweep();
    this.#log.info('core_listening', {
      address: addr,
      audioPort: c.audioPort,
      videoPort: c.videoPort,
      keepalivePorts: `${c.keepalivePorts.first}-${c.keepalivePorts.last}`,
      checkipPort: c.checkipPort,
      io: io.mode,
      ioReason: io.reason,
    });
  }

  /** The UDP I/O in use: 'mmsg' (batched recvmmsg/sendmmsg addon) or 'dgram' (node:dgram). */
  ioMode(): IoMode {
    return this.#ioMode;
  }

  reload(config: Config): void {
    const old = this.#config;
    this.#config = config;
    this.#hosts = new HostPolicy(config.hostsAllow, config.hostsDeny);
    this.#unlatchDenied();
    if (
      old.listenAddress !== config.listenAddress ||
      old.audioPort !== config.audioPort ||
      old.videoPort !== config.videoPort ||
      old.keepalivePorts.first !== config.keepalivePorts.first ||
      old.keepalivePorts.last !== config.keepalivePorts.last ||
      old.checkipPort !== config.checkipPort
    ) {
      this.#log.warn('core_reload_needs_restart', { note: 'listen address and media ports change only on restart' });
    }
    if (this.#started && !this.#closed) this.#scheduleSweep();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.dispose();
    await this.#closeSockets();
    for (const id of [...this.#participants.keys()]) this.leave(id, 'shutdown');
    this.#attr.clear();
  }

  async #closeSockets(): Promise<void> {
    this.#senders = [NULL_SENDER, NULL_SENDER, NULL_SENDER, NULL_SENDER];
    this.#keepaliveSenders = [NULL_SENDER, NULL_SENDER, NULL_SENDER, NULL_SENDER];
    const socks = [...this.#mediaSockets, ...this.#keepaliveSockets];
    this.#mediaSockets = [];
    this.#keepaliveSockets = [];
    await Promise.all(socks.map((s) => s.close()));
    const checkIp = this.#checkIp;
    this.#checkIp = null;
    if (checkIp !== null) await checkIp.close();
  }

  // ── Membership ────────────────────────────────────────────────────────────

  sessionCodecs(session: string, medium: Medium): readonly SessionCodec[] {
    const s = this.#sessions.get(session);
    return s === undefined ? [] : s.codecs[mediumIndex(medium)].slice();
  }

  checkAdmission(session: string): void {
    const c = this.#config;
    const s = this.#sessions.get(session);
    if (s !== undefined && s.participants.size >= c.maxParticipantsPerSession) {
      throw new AdmissionError('session_full', `session has ${s.participants.size} participants (limit ${c.maxParticipantsPerSession})`);
    }
    if (this.#participants.size >= c.maxParticipants) {
      throw new AdmissionError('server_full', `server has ${this.#participants.size} participants (limit ${c.maxParticipants})`);
    }
    if (s === undefined && this.#sessions.size >= c.maxSessions) {
      throw new AdmissionError('too_many_sessions', `server has ${this.#sessions.size} sessions (limit ${c.maxSessions})`);
    }
  }

  join(req: JoinRequest): string {
    this.checkAdmission(req.session);
    const now = Date.now();
    let session = this.#sessions.get(req.session);
    const created = session === undefined;
    if (session === undefined) {
      session = new SessionState(req.session, now);
      this.#sessions.set(req.session, session);
    }
    const id = this.#newId();
    const init: { user?: string; label?: string; mode: typeof req.mode; signalingAddress: string; now: number } = {
      mode: req.mode,
      signalingAddress: req.signalingAddress,
      now,
    };
    if (req.user !== undefined) init.user = req.user;
    if (req.label !== undefined) init.label = req.label;
    const p = new ParticipantState(id, session, init);
    if (req.displayName !== undefined) p.displayName = req.displayName;
    this.#applyStreams(p, req.streams);
    session.participants.set(id, p);
    this.#participants.set(id, p);
    this.#attr.add(p);
    session.rebuildTargets(this.#mixer !== null);
    if (created) this.#emit('session-created', session.name);
    this.#log.info('participant_joined', {
      id,
      session: session.name,
      user: req.user,
      displayName: req.displayName,
      label: req.label,
      mode: req.mode,
      signalingAddress: req.signalingAddress,
      streams: req.streams.map((s) => `${s.medium} ${formatEndpoint(s.address, s.rtpPort)} ${s.direction}`),
    });
    this.#emit('participant-joined', this.#snapshotParticipant(p));
    return id;
  }

  update(id: string, streams: readonly StreamSpec[]): void {
    const p = this.#participants.get(id);
    if (p === undefined) return;
    const before = this.#audioRtcpKey(p);
    this.#attr.remove(p);
    this.#applyStreams(p, streams);
    this.#attr.add(p);
    p.session.rebuildTargets(this.#mixer !== null);
    this.#log.info('participant_updated', {
      id,
      session: p.session.name,
      streams: streams.map((s) => `${s.medium} ${formatEndpoint(s.address, s.rtpPort)} ${s.direction}`),
    });
    this.#emitIfRtcpMoved(p, before);
    this.#emit('participant-updated', this.#snapshotParticipant(p));
  }

  confirmAddress(id: string, ip: string): void {
    const p = this.#participants.get(id);
    if (p === undefined) return;
    const n = normalizeIp(ip);
    if (p.confirmedIps.has(n)) return;
    const before = this.#audioRtcpKey(p);
    p.confirmedIps.add(n);
    p.session.rebuildTargets(this.#mixer !== null);
    this.#emitIfRtcpMoved(p, before);
  }

  leave(id: string, reason: LeaveReason): void {
    const p = this.#participants.get(id);
    if (p === undefined || p.removed) return;
    p.removed = true;
    this.#attr.remove(p);
    this.#participants.delete(id);
    const session = p.session;
    session.participants.delete(id);
    session.rebuildTargets(this.#mixer !== null);
    this.#log.info('participant_left', {
      id,
      session: session.name,
      reason,
      durationS: Math.round((Date.now() - p.joinedAt) / 1000),
      quality: p.streams[MEDIUM_AUDIO]?.quality.snapshot(),
    });
    this.#emit('participant-removed', id, session.name, reason);
    if (session.participants.size === 0 && this.#sessions.get(session.name) === session) {
      this.#sessions.delete(session.name);
      this.#emit('session-empty', session.name);
    }
  }

  has(id: string): boolean {
    return this.#participants.has(id);
  }

  /**
   * A participant's negotiated codecs for a medium, with its own PT numbers
   * (the mixer encodes each participant's mix with these). Not in api.ts: an
   * addition the mixer probes for.
   */
  participantCodecs(participantId: string, medium: Medium): readonly CodecMapping[] | undefined {
    const p = this.#participants.get(participantId);
    if (p === undefined) return undefined;
    const s = p.streams[mediumIndex(medium)];
    return s === null ? [] : s.spec.codecs;
  }

  #applyStreams(p: ParticipantState, streams: readonly StreamSpec[]): void {
    const seen = [false, false];
    for (const spec of streams) {
      const m = mediumIndex(spec.medium);
      if (seen[m]) continue; // one stream per medium; later duplicates are ignored
      seen[m] = true;
      const existing = p.streams[m];
      if (existing === null) p.streams[m] = new StreamState(p, spec, this.#udp6);
      else existing.apply(spec, this.#udp6);
      p.session.registerCodecs(spec.medium, spec.codecs);
    }
    for (let m = 0; m < 2; m++) {
      const s = p.streams[m];
      // A medium missing from a re-INVITE is disabled (latches dropped), its counters kept.
      if (!seen[m] && s !== null) s.apply({ ...s.spec, rtpPort: 0 }, this.#udp6);
    }
  }

  #newId(): string {
    for (let i = 0; i < 16; i++) {
      const id = randomBytes(4).toString('hex');
      if (!this.#participants.has(id)) return id;
    }
    return randomBytes(8).toString('hex');
  }

  // ── Hooks ────────────────────────────────────────────────────────────────

  setRelayPort(port: RelayPort | null): void {
    this.#relay = port;
  }

  setRflxHandler(handler: RflxHandler | null): void {
    this.#rflx = handler;
  }

  setMixerPort(port: MixerPort | null): void {
    const changed = (this.#mixer === null) !== (port === null);
    this.#mixer = port;
    if (changed) for (const s of this.#sessions.values()) s.rebuildTargets(port !== null);
  }

  sendTo(participantId: string, medium: Medium, rtcp: boolean, packet: Buffer): boolean {
    const p = this.#participants.get(participantId);
    if (p === undefined) return false;
    const s = p.streams[mediumIndex(medium)];
    if (s === null || (!rtcp && !s.receives)) return false;
    const dest = allowedDestination(s, rtcp ? 1 : 0);
    if (dest === null) return false;
    this.#senders[flowIndex(s.mediumIndex, rtcp)].send(packet, dest.port, dest.address);
    // The mixer's SRs: a report block naming one gives this participant's round-trip time.
    if (rtcp && s.mediumIndex === MEDIUM_AUDIO) this.#qualityReader.noteOutgoing(packet, this.#srLog(p.session), Date.now());
    const c = s.counters;
    if (rtcp) {
      c.rtcpPacketsOut++;
      c.rtcpBytesOut += packet.length;
    } else {
      c.rtpPacketsOut++;
      c.rtpBytesOut += packet.length;
    }
    return true;
  }

  injectRelayed(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    try {
      if (packet.length < (rtcp ? RTCP_MIN_SIZE : RTP_MIN_SIZE) || packet[0] >> 6 !== 2) {
        this.#drop(rtcp ? ReflectorDrop.MalformedRtcp : ReflectorDrop.MalformedRtp);
        return;
      }
      const s = this.#sessions.get(session);
      const flow = flowIndex(mediumIndex(medium), rtcp);
      if (s === undefined) return; // no local participants; the interconnect relays it on
      if (rtcp) this.#fanOutRtcp(s, flow, packet, null);
      else this.#fanOutRtp(s, flow, packet, null, null);
    } catch (err) {
      this.#internalError(err);
    }
  }

  // ── Datagram handlers (hot path) ─────────────────────────────────────────

  #onMedia(flow: number, buf: Buffer, rinfo: RemoteInfo): void {
    try {
      // RFC 5761 §4: RTCP multiplexed on the RTP port has a second byte of 192–223
      // (RTP payload types 64–95 are not used, so this never misreads RTP).
      const rtcp = flowIsRtcp(flow) || (buf.length >= 2 && buf[1] >= 192 && buf[1] <= 223);
      if (!rtcp) {
        const d = parseRtpHeader(buf, this.#rtp);
        if (d !== null) {
          this.#codecDrops.add(d);
          return;
        }
      } else {
        if (buf.length < RTCP_MIN_SIZE) {
          this.#drop(ReflectorDrop.MalformedRtcp);
          return;
        }
        this.#inspector.inspect(buf, this.#rtcp);
        if (this.#rtcp.drop !== null) {
          this.#codecDrops.add(this.#rtcp.drop);
          return;
        }
      }
      let s = this.#attr.sources[flow].get(rinfo.address, rinfo.port);
      if (s === undefined) {
        if (!this.#hosts.allowed(rinfo.address)) {
          this.#drop(ReflectorDrop.HostDenied);
          return;
        }
        if (this.#isOwnSocket(rinfo.address, rinfo.port)) {
          this.#drop(ReflectorDrop.OwnSource);
          return;
        }
        const found = this.#attr.resolve(flow, rinfo.address, rinfo.port, buf, rtcp);
        if (found === null) {
          this.#drop(this.#attr.lastDrop);
          return;
        }
        this.#latch(found, flow, rinfo.address, rinfo.port);
        s = found;
      }
      const p = s.participant;
      const now = Date.now();
      p.lastActivityAt = now;
      if (!rtcp) this.#onRtp(s, flow, buf);
      else this.#onRtcp(s, flow, buf, now);
    } catch (err) {
      this.#internalError(err);
    }
  }

  #onRtp(s: StreamState, flow: number, buf: Buffer): void {
    const c = s.counters;
    c.rtpPacketsIn++;
    c.rtpBytesIn += buf.length;
    if (!s.sends) {
      this.#drop(ReflectorDrop.NotSending);
      return;
    }
    if (s.mediumIndex === MEDIUM_AUDIO) s.quality.onRtp(this.#rtp.sequenceNumber, this.#rtp.payloadType, this.#rtp.timestamp, s.participant.lastActivityAt);
    const ssrc = this.#rtp.ssrc;
    if (ssrc !== s.lastSsrc) {
      s.lastSsrc = ssrc;
      this.#attr.learnSsrc(s, ssrc);
    }
    this.#fanOutRtp(s.participant.session, flow, buf, s.participant, s.inPt);
  }

  #onRtcp(s: StreamState, flow: number, buf: Buffer, now: number): void {
    const c = s.counters;
    c.rtcpPacketsIn++;
    c.rtcpBytesIn += buf.length;
    const p = s.participant;
    p.lastRtcpAt = now;
    const insp = this.#rtcp;
    if (insp.rflxLength > 0) {
      // SPEC §5/§7: an RFLX request is for the reflector. The whole datagram is consumed
      // (not forwarded), even when the compound holds other packets: clients send RFLX
      // as a bare APP packet, and a partial forward would need a rewritten compound.
      this.#rflxConsumed++;
      const h = this.#rflx;
      if (h !== null) {
        try {
          h.onParticipantRflx(p.id, p.session.name, this.#stable(buf.subarray(insp.rflxOffset, insp.rflxOffset + insp.rflxLength)));
        } catch (err) {
          this.#hookError('rflx', err);
        }
      }
      return;
    }
    if (insp.cnameLength >= 0 || insp.nameLength >= 0) this.#readSdes(p, buf, insp);
    if (s.mediumIndex === MEDIUM_AUDIO) this.#readQuality(s, buf, now);
    this.#fanOutRtcp(p.session, flow, buf, p);
    if (insp.byeCount > 0) {
      for (let i = 0; i < insp.byeCount; i++) p.byeSsrcs.add(insp.byeSsrcs[i]);
      if (p.allSsrcsSaidBye()) this.leave(p.id, 'rtcp_bye');
    }
  }

  /**
   * Reflects one RTP datagram to the session's recipients of `flow`, with the
   * PT byte mapped per recipient; gives audio to the mixer and everything to
   * the relay (a local sender's only: `sender` null is relayed media, which the
   * interconnect relays on itself). `inPt` is the sender's inbound table, null for
   * relayed media (already canonical).
   */
  #fanOutRtp(
    session: SessionState,
    flow: number,
    buf: Buffer,
    sender: ParticipantState | null,
    inPt: Uint8Array | null,
  ): void {
    const pt = buf[1] & 0x7f;
    const canonical = inPt === null ? pt : inPt[pt];
    this.#gen = (this.#gen + 1) >>> 0 || 1;
    const sock = this.#senders[flow];
    // RFC 4733: telephone-event goes to each recipient in its own telephone-event PT and rate
    // (telephone-event.ts); mixed participants get it from the mixer, in their mixed stream.
    const teRate = flow === FLOW_AUDIO_RTP && canonical !== NO_PT ? session.telephoneEventRate[canonical] : 0;
    this.#sendRtpTo(session.targets[flow], sock, buf, sender, canonical, teRate);
    if (flow === FLOW_AUDIO_RTP) {
      const mixer = this.#mixer;
      if (mixer !== null && session.mixCount > 0) {
        const cpt = canonical === NO_PT ? pt : canonical;
        try {
          mixer.onAudioRtp(session.name, sender === null ? null : sender.id, cpt, this.#withPt(buf, cpt));
        } catch (err) {
          this.#hookError('mixer', err);
        }
      }
    }
    if (sender !== null && this.#relay !== null) this.#relayForward(session.name, flow, canonical === NO_PT ? buf : this.#withPt(buf, canonical));
  }

  #sendRtpTo(
    targets: readonly Target[],
    sock: PacketSender,
    buf: Buffer,
    sender: ParticipantState | null,
    canonical: number,
    teRate: number,
  ): void {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t.participant === sender) continue;
      let out = buf;
      if (canonical !== NO_PT) {
        const outPt = t.outPt[canonical];
        if (outPt !== NO_PT || teRate === 0) {
          out = this.#withPt(buf, outPt);
        } else if (t.teRateHz === 0) {
          this.#telephoneEvents.notNegotiated++;
          continue;
        } else {
          const converted = this.#telephoneEvents.convert(this.#gen, buf, teRate, t.tePt, t.teRateHz);
          if (converted === null) continue;
          out = converted;
        }
      }
      sock.send(out, t.port, t.address);
      const c = t.counters;
      c.rtpPacketsOut++;
      c.rtpBytesOut += out.length;
    }
  }

  /**
   * RTCP is forwarded unchanged, as a transport translator does (RFC 3550 §7). `flow` is
   * where it arrived: RTCP multiplexed on an RTP port (RFC 5761) goes out on that RTP
   * flow to local participants, and to the mixer and peers as the medium's RTCP.
   */
  #fanOutRtcp(session: SessionState, flow: number, buf: Buffer, sender: ParticipantState | null): void {
    const targets = session.targets[flow];
    const sock = this.#senders[flow];
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t.participant === sender) continue;
      sock.send(buf, t.port, t.address);
      const c = t.counters;
      c.rtcpPacketsOut++;
      c.rtcpBytesOut += buf.length;
    }
    const rtcpFlow = flow | 1;
    if (rtcpFlow === FLOW_AUDIO_RTCP && sender !== null && session.mixCount > 0) {
      const mixer = this.#mixer;
      if (mixer !== null) {
        try {
          mixer.onAudioRtcp(session.name, sender.id, this.#stable(buf));
        } catch (err) {
          this.#hookError('mixer', err);
        }
      }
    }
    if (sender !== null && this.#relay !== null) this.#relayForward(session.name, rtcpFlow, buf);
  }

  #srLog(session: SessionState): SrLog {
    let log = this.#srLogs.get(session);
    if (log === undefined) {
      log = new SrLog();
      this.#srLogs.set(session, log);
    }
    return log;
  }

  /** Quality figures from a participant's audio RTCP (call-quality.ts); each sample goes to the metrics. */
  #readQuality(s: StreamState, buf: Buffer, now: number): void {
    const samples = this.#qualityReader.read(buf, s.quality, this.#srLog(s.participant.session), now);
    for (const sample of samples) this.#emit('call-quality', sample);
  }

  #relayForward(session: string, flow: number, buf: Buffer): void {
    const relay = this.#relay;
    if (relay === null) return;
    try {
      relay.forward(session, mediumOfIndex(flowMedium(flow)), flowIsRtcp(flow), this.#stable(buf));
    } catch (err) {
      this.#hookError('relay', err);
    }
  }

  /**
   * `buf`, or a copy of it when it is a view into a batched socket's receive arena
   * (REFLECTOR_IO=mmsg), which is reused after the batch: for hooks that may keep the
   * buffer or send it asynchronously (the relay's dgram send, RFLX handling, mixer RTCP).
   * The mixer's RTP hook gets the view: its buffer is valid only during the call (api.ts).
   */
  #stable(buf: Buffer): Buffer {
    if (!this.#batch.isTransient(buf)) return buf;
    const copy = Buffer.allocUnsafe(buf.length);
    buf.copy(copy);
    return copy;
  }

  /**
   * `buf` with its PT byte set to `pt` (marker kept). The received buffer is never
   * mutated: sends of the same datagram to other recipients may still be queued in
   * Node (dgram reads the buffer after its address lookup), so a recipient needing a
   * different number gets a copy. Copies are shared by all recipients wanting the
   * same number within one datagram. This path only runs when clients use different
   * dynamic PT numbers for the same codec.
   */
  #withPt(buf: Buffer, pt: number): Buffer {
    if (pt === NO_PT || pt === (buf[1] & 0x7f)) return buf;
    if (this.#copyGen[pt] === this.#gen) {
      const cached = this.#copyBuf[pt];
      if (cached !== null) return cached;
    }
    const copy = Buffer.allocUnsafe(buf.length);
    buf.copy(copy);
    copy[1] = (buf[1] & 0x80) | pt;
    this.#copyGen[pt] = this.#gen;
    this.#copyBuf[pt] = copy;
    return copy;
  }

  #onKeepalive(index: number, buf: Buffer, rinfo: RemoteInfo): void {
    try {
      if (!this.#hosts.allowed(rinfo.address)) {
        this.#drop(ReflectorDrop.HostDenied);
        return;
      }
      const kind = this.#keepalive.classify(buf);
      if (kind === 'stun') {
        const answer = this.#keepalive.stunAnswer(buf, rinfo.address, rinfo.port);
        if (answer === null) {
          this.#codecDrops.add(this.#keepalive.lastDrop);
          return;
        }
        const latched = this.#attr.sources[index].get(rinfo.address, rinfo.port);
        if (latched !== undefined) latched.participant.lastActivityAt = Date.now();
        this.#keepaliveSenders[index].send(answer, rinfo.port, rinfo.address);
        return;
      }
      if (kind !== 'rtp') {
        this.#drop(ReflectorDrop.KeepaliveUnknown);
        return;
      }
      // RFC 6263 keep-alive: an RTP packet with an SSRC known for a participant.
      const ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
      const medium = flowMedium(index);
      let s = this.#attr.findBySsrc(medium, ssrc, rinfo.address);
      if (s === null) {
        const other = this.#attr.findBySsrc(1 - medium, ssrc, rinfo.address);
        if (other !== null) s = other.participant.streams[medium];
      }
      if (s === null || !s.enabled) {
        this.#drop(ReflectorDrop.KeepaliveUnknown);
        return;
      }
      s.participant.lastActivityAt = Date.now();
      const rtcp = flowIsRtcp(index) ? 1 : 0;
      if (s.latchedIp[rtcp] !== rinfo.address || s.latchedPort[rtcp] !== rinfo.port) {
        this.#latch(s, index, rinfo.address, rinfo.port);
      }
      // Echoed byte for byte from the keep-alive port, so the NAT sees two-way traffic.
      this.#keepaliveSenders[index].send(buf, rinfo.port, rinfo.address);
    } catch (err) {
      this.#internalError(err);
    }
  }

  // ── Latching, SDES, liveness ─────────────────────────────────────────────

  /**
   * True for a source that is one of our own UDP ports on one of our addresses: a c= line
   * naming the reflector itself must never make it latch (and so feed) its own sockets.
   */
  #isOwnSocket(ip: string, port: number): boolean {
    const c = this.#config;
    const own =
      (port >= c.audioPort && port <= c.audioPort + 1) ||
      (port >= c.videoPort && port <= c.videoPort + 1) ||
      (port >= c.keepalivePorts.first && port <= c.keepalivePorts.last);
    if (!own) return false;
    const n = normalizeIp(ip);
    if (n === normalizeIp(c.listenAddress) || n === normalizeIp(c.publicAddress)) return true;
    return isWildcardListen(c.listenAddress) && (n === '127.0.0.1' || n === '::1');
  }

  /** After a reload: sources that HOSTS_DENY now refuses are unlatched (their media is dropped). */
  #unlatchDenied(): void {
    const touched = new Set<SessionState>();
    for (const p of this.#participants.values()) {
      let changed = false;
      for (const s of p.streams) {
        if (s === null) continue;
        for (const rtcp of [0, 1] as const) {
          const ip = s.latchedIp[rtcp];
          if (ip === null || this.#hosts.allowed(ip)) continue;
          changed = true;
        }
      }
      if (!changed) continue;
      this.#attr.remove(p);
      for (const s of p.streams) {
        if (s === null) continue;
        for (const rtcp of [0, 1] as const) {
          const ip = s.latchedIp[rtcp];
          if (ip === null || this.#hosts.allowed(ip)) continue;
          s.latchedIp[rtcp] = null;
          s.latchedPort[rtcp] = 0;
          p.confirmedIps.delete(normalizeIp(ip));
        }
      }
      this.#attr.add(p);
      touched.add(p.session);
    }
    for (const session of touched) session.rebuildTargets(this.#mixer !== null);
  }

  #latch(stream: StreamState, flow: number, ip: string, port: number): void {
    const p = stream.participant;
    const before = this.#audioRtcpKey(p);
    const lost = this.#attr.latch(stream, flow, ip, port);
    p.session.rebuildTargets(this.#mixer !== null);
    if (lost !== null && lost.participant.session !== p.session) lost.participant.session.rebuildTargets(this.#mixer !== null);
    this.#log.debug('source_latched', { id: p.id, session: p.session.name, flow, source: formatEndpoint(ip, port) });
    this.#emitIfRtcpMoved(p, before);
  }

  /** Where RFLX announcements to `p` would go now ('' = nowhere yet). */
  #audioRtcpKey(p: ParticipantState): string {
    const s = p.streams[MEDIUM_AUDIO];
    if (s === null) return '';
    const d = allowedDestination(s, 1);
    return d === null ? '' : `${d.address}|${d.port}`;
  }

  /** 'rtcp-latched' fires when the participant's audio RTCP destination appears or changes. */
  #emitIfRtcpMoved(p: ParticipantState, before: string): void {
    const after = this.#audioRtcpKey(p);
    if (after !== '' && after !== before) this.#emit('rtcp-latched', p.id, p.session.name);
  }

  /** CNAME/NAME are decoded only when their bytes changed (SDES repeats every few seconds). */
  #readSdes(p: ParticipantState, buf: Buffer, insp: RtcpInspection): void {
    if (insp.cnameLength >= 0) {
      const bytes = buf.subarray(insp.cnameOffset, insp.cnameOffset + insp.cnameLength);
      if (p.cnameBytes === undefined || !p.cnameBytes.equals(bytes)) {
        p.cnameBytes = Buffer.from(bytes);
        p.cname = bytes.toString('utf8');
      }
    }
    if (insp.nameLength >= 0) {
      const bytes = buf.subarray(insp.nameOffset, insp.nameOffset + insp.nameLength);
      if (p.nameBytes === undefined || !p.nameBytes.equals(bytes)) {
        p.nameBytes = Buffer.from(bytes);
        p.sdesName = bytes.toString('utf8');
      }
    }
  }

  #scheduleSweep(): void {
    const timeoutMs = this.#config.inactivityTimeoutS * 1000;
    const every = Math.max(SWEEP_MIN_INTERVAL_MS, Math.min(SWEEP_MAX_INTERVAL_MS, Math.floor(timeoutMs / 4)));
    this.#timers.every('liveness', every, () => this.#sweep());
  }

  #sweep(): void {
    const now = Date.now();
    const timeoutMs = this.#config.inactivityTimeoutS * 1000;
    const expired: string[] = [];
    for (const p of this.#participants.values()) {
      if (now - p.lastActivityAt >= timeoutMs) expired.push(p.id);
    }
    for (const id of expired) {
      try {
        this.leave(id, 'timeout');
      } catch (err) {
        this.#internalError(err);
      }
    }
  }

  // ── Counters and errors ──────────────────────────────────────────────────

  /**
   * Emits an event; a listener that throws is logged and counted, never allowed to
   * unwind the core's own state change (join/leave/latch) half-way.
   */
  #emit<K extends keyof CoreEvents & string>(event: K, ...args: CoreEvents[K]): void {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      this.#hookError(`event:${event}`, err);
    }
  }

  #drop(reason: ReflectorDrop): void {
    this.#drops[reason]++;
  }

  #internalError(err: unknown): void {
    this.#drops[ReflectorDrop.InternalError]++;
    const now = Date.now();
    if (now - this.#lastInternalLogAt >= INTERNAL_ERROR_LOG_INTERVAL_MS) {
      this.#lastInternalLogAt = now;
      this.#log.error('core_internal_error', {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        count: this.#drops[ReflectorDrop.InternalError],
      });
    }
  }

  #hookError(hook: string, err: unknown): void {
    this.#hookErrors++;
    const now = Date.now();
    if (now - this.#lastInternalLogAt >= INTERNAL_ERROR_LOG_INTERVAL_MS) {
      this.#lastInternalLogAt = now;
      this.#log.error('core_hook_error', { hook, error: err instanceof Error ? err.message : String(err), count: this.#hookErrors });
    }
  }

  drops(): Readonly<Record<string, number>> {
    const out: Record<string, number> = { ...this.#drops };
    for (const [reason, n] of Object.entries(this.#codecDrops.snapshot())) out[reason] = (out[reason] ?? 0) + n;
    out.send_error = this.#sendErrors.sendErrors;
    out.socket_error = this.#socketErrors + (this.#checkIp?.errors ?? 0);
    out.rx_truncated = this.#batch.counters.rxTruncated;
    out.hook_error = this.#hookErrors;
    return out;
  }

  /**
   * Datagrams handled in a special way, not dropped: RTCP consumed as RFLX requests; telephone-event
   * packets converted to another clock rate, and recipients that got none (no telephone-event negotiated).
   */
  counters(): Readonly<Record<string, number>> {
    return {
      rflx_consumed: this.#rflxConsumed,
      telephone_event_converted: this.#telephoneEvents.converted,
      telephone_event_not_negotiated: this.#telephoneEvents.notNegotiated,
    };
  }

  // ── Observation ──────────────────────────────────────────────────────────

  sessionNames(): readonly string[] {
    return [...this.#sessions.keys()];
  }

  participantIds(session: string): readonly string[] {
    const s = this.#sessions.get(session);
    return s === undefined ? [] : [...s.participants.keys()];
  }

  snapshot(): readonly SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    for (const s of this.#sessions.values()) {
      out.push({
        name: s.name,
        createdAt: s.createdAt,
        participants: [...s.participants.values()].map((p) => this.#snapshotParticipant(p)),
        remoteCounts: {},
      });
    }
    return out;
  }

  #snapshotParticipant(p: ParticipantState): ParticipantSnapshot {
    const streams: ParticipantSnapshot['streams'][number][] = [];
    for (const s of p.streams) {
      if (s === null) continue;
      const rtpSource = s.latchedIp[0] === null ? undefined : formatEndpoint(normalizeIp(s.latchedIp[0]), s.latchedPort[0]);
      const rtcpSource = s.latchedIp[1] === null ? undefined : formatEndpoint(normalizeIp(s.latchedIp[1]), s.latchedPort[1]);
      streams.push({
        medium: s.medium,
        sdpAddress: s.spec.address,
        sdpRtpPort: s.spec.rtpPort,
        ...(rtpSource === undefined ? {} : { rtpSource }),
        ...(rtcpSource === undefined ? {} : { rtcpSource }),
        direction: s.spec.direction,
        codecs: s.spec.codecs.map((c) => c.name),
        counters: { ...s.counters },
      });
    }
    return {
      id: p.id,
      session: p.session.name,
      ...(p.user === undefined ? {} : { user: p.user }),
      ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
      ...(p.label === undefined ? {} : { label: p.label }),
      mode: p.mode,
      joinedAt: p.joinedAt,
      ...(p.lastRtcpAt === undefined ? {} : { lastRtcpAt: p.lastRtcpAt }),
      lastActivityAt: p.lastActivityAt,
      ...(p.cname === undefined ? {} : { cname: p.cname }),
      ...(p.sdesName === undefined ? {} : { sdesName: p.sdesName }),
      ...quality(p),
      streams,
    };
  }
}
