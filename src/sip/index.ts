/**
 * The SIP front end (SPEC §4): transports on SIP_PORT plus the user agent that
 * joins callers to sessions of the reflector core.
 */
import type { Config } from '../config/types.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import { DEFAULT_TRANSPORT_LIMITS, SipTransportLayer, type TransportLimits } from './transport.js';
import { SipUserAgent, type UserAgentOptions } from './user-agent.js';

export interface SipFrontEndDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  /** Tuning and test hooks; production leaves this out. */
  readonly options?: UserAgentOptions;
  /** TCP connection bounds (default 1024 connections, 120 s idle). */
  readonly transportLimits?: Partial<TransportLimits>;
}

export type SipFrontEnd = Component & {
  stats(): Record<string, number>;
  /** The bound SIP port (UDP and TCP); equals SIP_PORT unless that was 0. */
  readonly port: number;
};

export function createSipFrontEnd(deps: SipFrontEndDeps): SipFrontEnd {
  let config = deps.config;
  const log = deps.logger;
  let ua: SipUserAgent | null = null;
  const transport = new SipTransportLayer(log, (r, src) => { ua?.onMessage(r, src); }, { ...DEFAULT_TRANSPORT_LIMITS, ...deps.transportLimits });
  let started = false;
  let closed = false;
  return {
    get port() { return transport.port; },
    async start() {
      if (started) return;
      started = true;
      ua = new SipUserAgent(config, log, deps.core, transport, deps.options);
      await transport.start(config.listenAddress, config.sipPort, config.sipTransports);
      log.info('sip_listening', { address: config.listenAddress, port: transport.port, transports: config.sipTransports });
    },
    reload(next: Config) {
      config = next;
      ua?.reload(next);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (ua !== null) await ua.shutdown();
      ua?.dispose();
      await transport.close();
    },
    stats() {
      const out: Record<string, number> = ua?.stats() ?? {};
      for (const [k, v] of Object.entries(transport.drops.snapshot())) out[`drop_${k}`] = v;
      out.parse_drops = (out.parse_drops ?? 0) + transport.drops.total();
      out.tcp_connections = transport.connectionCount();
      return out;
    },
  };
}
