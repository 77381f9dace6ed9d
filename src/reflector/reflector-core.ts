/**
 * The reflector core (SPEC §5): owns the media, keep-alive and check-IP
 * sockets; attributes datagrams to participants by source address; fans RTP
 * and RTCP out to the other participants of the session through precomputed
 * recipient lists; hands datagrams to the interconnect, the mixer and the
 * RFLX handler through the hooks of api.ts.
 *
 * This class composes the pieces, which share one CoreState (core-state.ts):
 *   membership.ts       admission, join, update, leave, liveness expiry
 *   latching.ts         binding sources to streams, HOSTS_DENY after reload, SDES
 *   media-path.ts       the hot path: validate → attribute → fan out; sendTo, injectRelayed
 *   output-copies.ts    per-datagram PT-rewritten, SRTP and stable copies
 *   keepalive-path.ts   ICE checks on the media ports, the keep-alive ports
 *   core-observation.ts snapshots, drops and counters
 * It owns the sockets and the timers (Component) and the hooks.
 */
import type { RemoteInfo } from 'node:dgram';
import { effectiveMediaWorkers } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import { TimerSet } from '../runtime/timer-set.js';
import type { TypedEmitter } from '../runtime/typed-emitter.js';
import type {
  CodecMapping,
  CoreEvents,
  JoinRequest,
  LeaveReason,
  Medium,
  MixerPort,
  ReflectorCore,
  RelayPort,
  RflxHandler,
  SessionCodec,
  SessionSnapshot,
  StreamSpec,
} from './api.js';
import { BatchedUdpSocket, chooseIo, type IoMode } from './batched-udp.js';
import { CoreFanout } from './native-fanout.js';
import { CheckIpServer } from './checkip-server.js';
import { coreCounters, coreDrops, snapshotSessions } from './core-observation.js';
import { CoreState, NULL_SENDER, nullSenders } from './core-state.js';
import { HostPolicy } from './host-policy.js';
import { KeepalivePath } from './keepalive-path.js';
import { Latching } from './latching.js';
import { MediaPath } from './media-path.js';
import { FLOW_COUNT } from './media-kind.js';
import { Membership } from './membership.js';
import { bindDgramCoreSocket, type CoreUdpSocket, type DatagramHandler } from './udp-socket.js';

/** The liveness sweep runs at most this often, and at least 4 times per timeout. */
const SWEEP_MAX_INTERVAL_MS = 1000;
const SWEEP_MIN_INTERVAL_MS = 50;

export class ReflectorCoreImpl implements ReflectorCore, Component {
  readonly events: TypedEmitter<CoreEvents>;

  readonly #st: CoreState;
  readonly #latching: Latching;
  readonly #membership: Membership;
  readonly #keepalive: KeepalivePath;
  readonly #media: MediaPath;
  readonly #timers = new TimerSet();

  #mediaSockets: CoreUdpSocket[] = [];
  #keepaliveSockets: CoreUdpSocket[] = [];
  /** The I/O of the UDP sockets (REFLECTOR_IO), chosen at start(). */
  #ioMode: IoMode = 'dgram';
  #mediaWorkers = 1;
  #checkIp: CheckIpServer | null = null;
  readonly #mediaHandlers: ((msg: Buffer, rinfo: RemoteInfo) => void)[] = [];
  readonly #keepaliveHandlers: ((msg: Buffer, rinfo: RemoteInfo) => void)[] = [];
  readonly #onSocketError: (err: Error) => void;

  #started = false;
  #closed = false;

  constructor(config: Config, logger: Logger) {
    const st = new CoreState(config, logger);
    this.#st = st;
    this.events = st.events;
    this.#latching = new Latching(st);
    this.#membership = new Membership(st, this.#latching);
    this.#keepalive = new KeepalivePath(st, this.#latching);
    this.#media = new MediaPath(st, this.#latching, this.#membership, this.#keepalive);
    this.#onSocketError = () => {
      st.socketErrors++;
    };
    // One handler per socket, created once.
    const media = this.#media;
    const keepalive = this.#keepalive;
    for (let f = 0; f < FLOW_COUNT; f++) {
      this.#mediaHandlers.push((msg, rinfo) => media.onMedia(f, msg, rinfo));
      this.#keepaliveHandlers.push((msg, rinfo) => keepalive.onKeepalive(f, msg, rinfo));
    }
  }

  // ── Component ─────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const c = this.#st.config;
    const addr = c.listenAddress;
    const mediaPorts = [c.audioPort, c.audioPort + 1, c.videoPort, c.videoPort + 1];
    let io;
    try {
      io = chooseIo(this.#st.config.reflectorIo);
    } catch (err) {
      this.#started = false;
      throw err;
    }
    const addon = io.addon;
    this.#ioMode = io.mode;
    // MEDIA_WORKERS: threads of the addon, so node:dgram sockets have only the main thread.
    const workers = addon === null ? 1 : effectiveMediaWorkers(c.mediaWorkers);
    this.#mediaWorkers = workers;
    const bind = (port: number, handler: DatagramHandler, threads = 1): Promise<CoreUdpSocket> =>
      addon === null
        ? bindDgramCoreSocket(addr, port, handler, this.#onSocketError, this.#st.sendErrors)
        : Promise.resolve().then(() => BatchedUdpSocket.open(addon, addr, port, handler, this.#st.batch, this.#st.sendErrors, threads));
    try {
      for (let f = 0; f < FLOW_COUNT; f++) {
        this.#mediaSockets.push(await bind(mediaPorts[f], this.#mediaHandlers[f], workers));
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
    this.#st.senders = this.#mediaSockets.map((s) => s.sender);
    this.#st.fan = new CoreFanout(this.#mediaSockets, this.#st.batch);
    for (const s of this.#st.sessions.values()) this.#st.rebuildTargets(s);
    this.#st.keepaliveSenders = this.#keepaliveSockets.map((s) => s.sender);
    while (this.#st.keepaliveSenders.length < FLOW_COUNT) this.#st.keepaliveSenders.push(NULL_SENDER);
    this.#scheduleSweep();
    this.#st.log.info('core_listening', {
      address: addr,
      audioPort: c.audioPort,
      videoPort: c.videoPort,
      keepalivePorts: `${c.keepalivePorts.first}-${c.keepalivePorts.last}`,
      checkipPort: c.checkipPort,
      io: io.mode,
      ioReason: io.reason,
      mediaWorkers: workers,
    });
  }

  /** Threads receiving and fanning out on each media port (MEDIA_WORKERS; 1 with node:dgram). */
  mediaWorkers(): number {
    return this.#mediaWorkers;
  }

  mediaLaneStats(): number[][] {
    return this.#mediaSockets.map((s) => (s instanceof BatchedUdpSocket ? s.laneStats() : []));
  }

  /** The UDP I/O in use: 'mmsg' (batched recvmmsg/sendmmsg addon) or 'dgram' (node:dgram). */
  ioMode(): IoMode {
    return this.#ioMode;
  }

  reload(config: Config): void {
    const old = this.#st.config;
    this.#st.config = config;
    this.#st.hosts = new HostPolicy(config.hostsAllow, config.hostsDeny);
    this.#latching.unlatchDenied();
    if (
      old.listenAddress !== config.listenAddress ||
      old.audioPort !== config.audioPort ||
      old.videoPort !== config.videoPort ||
      old.keepalivePorts.first !== config.keepalivePorts.first ||
      old.keepalivePorts.last !== config.keepalivePorts.last ||
      old.checkipPort !== config.checkipPort
    ) {
      this.#st.log.warn('core_reload_needs_restart', { note: 'listen address and media ports change only on restart' });
    }
    if (this.#started && !this.#closed) this.#scheduleSweep();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.dispose();
    await this.#closeSockets();
    this.#membership.leaveAll('shutdown');
    this.#st.attr.clear();
    this.#st.ice.clear();
  }

  async #closeSockets(): Promise<void> {
    this.#st.pollFanout();
    this.#st.fan = null;
    this.#st.senders = nullSenders();
    this.#st.keepaliveSenders = nullSenders();
    const socks = [...this.#mediaSockets, ...this.#keepaliveSockets];
    this.#mediaSockets = [];
    this.#keepaliveSockets = [];
    await Promise.all(socks.map((s) => s.close()));
    const checkIp = this.#checkIp;
    this.#checkIp = null;
    if (checkIp !== null) await checkIp.close();
  }

  #scheduleSweep(): void {
    const timeoutMs = this.#st.config.inactivityTimeoutS * 1000;
    const every = Math.max(SWEEP_MIN_INTERVAL_MS, Math.min(SWEEP_MAX_INTERVAL_MS, Math.floor(timeoutMs / 4)));
    this.#timers.every('liveness', every, () => this.#membership.expireInactive());
  }

  // ── Membership (membership.ts) ───────────────────────────────────────────

  sessionCodecs(session: string, medium: Medium): readonly SessionCodec[] {
    return this.#membership.sessionCodecs(session, medium);
  }

  checkAdmission(session: string): void {
    this.#membership.checkAdmission(session);
  }

  join(req: JoinRequest): string {
    return this.#membership.join(req);
  }

  update(id: string, streams: readonly StreamSpec[]): void {
    this.#membership.update(id, streams);
  }

  confirmAddress(id: string, ip: string): void {
    this.#membership.confirmAddress(id, ip);
  }

  leave(id: string, reason: LeaveReason): void {
    this.#membership.leave(id, reason);
  }

  has(id: string): boolean {
    return this.#membership.has(id);
  }

  /** A participant's negotiated codecs for a medium, with its own PT numbers (not in api.ts). */
  participantCodecs(participantId: string, medium: Medium): readonly CodecMapping[] | undefined {
    return this.#membership.participantCodecs(participantId, medium);
  }

  // ── Hooks ────────────────────────────────────────────────────────────────

  setRelayPort(port: RelayPort | null): void {
    const st = this.#st;
    const changed = (st.relay === null) !== (port === null);
    st.relay = port;
    if (changed) for (const s of st.sessions.values()) st.rebuildTargets(s);
  }

  setRflxHandler(handler: RflxHandler | null): void {
    this.#st.rflx = handler;
  }

  setMixerPort(port: MixerPort | null): void {
    const st = this.#st;
    const changed = (st.mixer === null) !== (port === null);
    st.mixer = port;
    if (changed) for (const s of st.sessions.values()) st.rebuildTargets(s);
  }

  sendTo(participantId: string, medium: Medium, rtcp: boolean, packet: Buffer): boolean {
    return this.#media.sendTo(participantId, medium, rtcp, packet);
  }

  injectRelayed(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    this.#media.injectRelayed(session, medium, rtcp, packet);
  }

  // ── Observation (core-observation.ts) ────────────────────────────────────

  drops(): Readonly<Record<string, number>> {
    this.#st.pollFanout();
    return coreDrops(this.#st, this.#checkIp?.errors ?? 0);
  }

  /** Datagrams handled in a special way, not dropped (RFLX consumed, telephone-event). */
  counters(): Readonly<Record<string, number>> {
    return coreCounters(this.#st, this.#media.telephoneEvents);
  }

  /** ICE connectivity checks answered so far (SPEC §16; not in api.ts). */
  iceChecksAnswered(): number {
    return this.#st.iceAnswered;
  }

  sessionNames(): readonly string[] {
    return [...this.#st.sessions.keys()];
  }

  participantIds(session: string): readonly string[] {
    const s = this.#st.sessions.get(session);
    return s === undefined ? [] : [...s.participants.keys()];
  }

  snapshot(): readonly SessionSnapshot[] {
    this.#st.pollFanout();
    return snapshotSessions(this.#st);
  }
}
