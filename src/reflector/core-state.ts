/**
 * The state the pieces of the reflector core share (reflector-core.ts composes them):
 * configuration, the session and participant maps, the source index, the senders,
 * the hooks, and the counters with the helpers that count (emit, drop, errors).
 *
 * One CoreState per core, built once; the pieces (membership.ts, latching.ts,
 * media-path.ts, keepalive-path.ts) keep a reference to it. Fields that are
 * replaced at run time (config, hosts, senders, hooks) are read from here on
 * every use; the readonly ones may be cached by a piece.
 */
import type { Config } from '../config/types.js';
import { DropCounter } from '../runtime/drop-counter.js';
import type { Logger } from '../runtime/logger.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import type { CoreEvents, MixerPort, RelayPort, RflxHandler } from './api.js';
import { Attribution } from './attribution.js';
import { BatchGroup } from './batched-udp.js';
import type { CoreFanout } from './native-fanout.js';
import { ReflectorDrop } from './drop-reasons.js';
import { HostPolicy } from './host-policy.js';
import { IceResponder } from './ice-agent.js';
import type { PacketSender, SendErrorCounter } from './packet-sender.js';
import type { ParticipantState } from './participant.js';
import type { SessionState } from './session.js';
import { udpTypeFor } from './udp-socket.js';

/** Sends nothing: the senders before start() and after close(). */
export const NULL_SENDER: PacketSender = { send: () => undefined };

/** Four senders that send nothing, one per flow. */
export function nullSenders(): PacketSender[] {
  return [NULL_SENDER, NULL_SENDER, NULL_SENDER, NULL_SENDER];
}

/** At most one log line per this interval for our own bugs caught by the backstop. */
const INTERNAL_ERROR_LOG_INTERVAL_MS = 10_000;

export class CoreState {
  readonly events = new TypedEmitter<CoreEvents>();
  config: Config;
  readonly log: Logger;
  readonly sessions = new Map<string, SessionState>();
  readonly participants = new Map<string, ParticipantState>();
  readonly attr = new Attribution();
  /** ICE-lite credentials by ufrag and the check responder (SPEC §16). */
  readonly ice = new IceResponder();
  /** The listen address is IPv6 (SDP addresses are mapped accordingly). */
  readonly udp6: boolean;
  hosts: HostPolicy;
  /** The batched sockets' shared state; its arenas are empty with dgram. */
  readonly batch = new BatchGroup();
  /** Plain reflect fan-out without JS per copy (native-fanout.ts), while the sockets are open. */
  fan: CoreFanout | null = null;

  /** Senders by flow (symmetric RTP: a flow is sent from the socket it arrives on). */
  senders: PacketSender[] = nullSenders();
  keepaliveSenders: PacketSender[] = nullSenders();

  relay: RelayPort | null = null;
  rflx: RflxHandler | null = null;
  mixer: MixerPort | null = null;

  // Counters: plain numbers in preallocated objects.
  readonly drops: Record<ReflectorDrop, number>;
  /** Drop reasons of the wire codecs (rtp_bad_version, rtcp_length_overrun, …). */
  readonly codecDrops = new DropCounter();
  readonly sendErrors: SendErrorCounter = { sendErrors: 0 };
  socketErrors = 0;
  rflxConsumed = 0;
  iceAnswered = 0;
  hookErrors = 0;
  #lastInternalLogAt = 0;

  constructor(config: Config, logger: Logger) {
    this.config = config;
    this.log = logger;
    this.udp6 = udpTypeFor(config.listenAddress) === 'udp6';
    this.hosts = new HostPolicy(config.hostsAllow, config.hostsDeny);
    const drops = {} as Record<ReflectorDrop, number>;
    for (const reason of Object.values(ReflectorDrop)) drops[reason] = 0;
    this.drops = drops;
  }

  /** Recomputes a session's recipient lists after any change of membership, latching or hooks. */
  rebuildTargets(session: SessionState): void {
    session.rebuildTargets(this.mixer !== null);
    this.fan?.sync(session, this.relay !== null, this.mixer !== null);
  }

  /** What the fan-out table did since the last poll, into the streams' counters and activity. */
  pollFanout(): void {
    if (this.fan !== null) this.sendErrors.sendErrors += this.fan.poll();
  }

  /**
   * Emits an event; a listener that throws is logged and counted, never allowed to
   * unwind the core's own state change (join/leave/latch) half-way.
   */
  emit<K extends keyof CoreEvents & string>(event: K, ...args: CoreEvents[K]): void {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      this.hookError(`event:${event}`, err);
    }
  }

  drop(reason: ReflectorDrop): void {
    this.drops[reason]++;
  }

  internalError(err: unknown): void {
    this.drops[ReflectorDrop.InternalError]++;
    const now = Date.now();
    if (now - this.#lastInternalLogAt >= INTERNAL_ERROR_LOG_INTERVAL_MS) {
      this.#lastInternalLogAt = now;
      this.log.error('core_internal_error', {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        count: this.drops[ReflectorDrop.InternalError],
      });
    }
  }

  hookError(hook: string, err: unknown): void {
    this.hookErrors++;
    const now = Date.now();
    if (now - this.#lastInternalLogAt >= INTERNAL_ERROR_LOG_INTERVAL_MS) {
      this.#lastInternalLogAt = now;
      this.log.error('core_hook_error', { hook, error: err instanceof Error ? err.message : String(err), count: this.hookErrors });
    }
  }
}
