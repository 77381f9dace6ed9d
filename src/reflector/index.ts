/**
 * The reflector core's public entry point (SPEC §5). main.ts builds the core
 * with createReflectorCore(); everything else reaches it through api.ts.
 *
 * Files of the core, one concept each:
 *   reflector-core.ts  the ReflectorCore/Component: sockets, timers, hooks; composes the pieces below
 *   core-state.ts      the state the pieces share: maps, source index, senders, hooks, counters
 *   membership.ts      admission, join, update, leave, liveness expiry
 *   latching.ts        binding a source to a stream, HOSTS_DENY unlatching, SDES names
 *   media-path.ts      the hot path: validate → attribute → fan out; sendTo, injectRelayed
 *   output-copies.ts   per-datagram PT-rewritten, SRTP and stable copies
 *   keepalive-path.ts  ICE checks on the media ports; the keep-alive ports
 *   core-observation.ts snapshots, drops and counters
 *   session.ts         a session, its canonical codecs and precomputed recipient lists
 *   participant.ts     a participant and its streams (latched sources, PT tables, counters)
 *   attribution.ts     source → stream lookup and the latching rules
 *   destination.ts     anti-amplification: where a stream may be sent to
 *   pt-table.ts        payload-type translation tables
 *   rtcp-inspector.ts  what the core reads in RTCP (SDES, BYE, RFLX)
 *   keepalive.ts       keep-alive port classification and STUN answers
 *   ice-agent.ts       ICE-lite: connectivity checks on the media ports (SPEC §16)
 *   checkip-server.ts  the check-IP TCP service
 *   host-policy.ts     HOSTS_ALLOW / HOSTS_DENY for media
 *   packet-sender.ts   the one narrow send interface (node:dgram sender)
 *   udp-socket.ts      the core's UDP socket abstraction; binding a node:dgram socket
 *   batched-udp.ts     REFLECTOR_IO: batched recvmmsg/sendmmsg sockets over native/mmsg.c
 *   ip-key.ts          allocation-free source keys
 *   media-kind.ts      flow indexes (audio/video × RTP/RTCP)
 *   drop-reasons.ts    the core's drop reasons (metric labels)
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Component } from '../runtime/component.js';
import type { CodecMapping, Medium, ReflectorCore } from './api.js';
import { ReflectorCoreImpl } from './reflector-core.js';

export interface ReflectorCoreDeps {
  readonly config: Config;
  readonly logger: Logger;
}

/** Members of the core beyond api.ts (additive). */
export interface ReflectorCoreExtras {
  /** A participant's negotiated codecs with its own PT numbers; undefined for an unknown id. */
  participantCodecs(participantId: string, medium: Medium): readonly CodecMapping[] | undefined;
  /** The UDP I/O chosen at start() (REFLECTOR_IO): 'mmsg' (batched addon) or 'dgram'. */
  ioMode(): 'mmsg' | 'dgram';
  /** Threads receiving and fanning out on each media port (MEDIA_WORKERS; 1 with node:dgram). */
  mediaWorkers(): number;
  /** Per media port (audio RTP, RTCP, video RTP, RTCP): datagrams received by each thread; [] with node:dgram. */
  mediaLaneStats(): number[][];
  /** Datagrams handled specially, not dropped (see api.ts). */
  counters(): Readonly<Record<string, number>>;
  /** ICE connectivity checks answered so far (SPEC §16). */
  iceChecksAnswered(): number;
}

export function createReflectorCore(deps: ReflectorCoreDeps): ReflectorCore & ReflectorCoreExtras & Component {
  return new ReflectorCoreImpl(deps.config, deps.logger);
}
