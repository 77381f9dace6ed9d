/**
 * The SIP front end (SPEC §4, §15): transports on SIP_PORT (and SIP over TLS
 * on SIP_TLS_PORT) plus the user agent that joins callers to sessions of the
 * reflector core.
 */
import { readTlsCredentials, type TlsCredentials } from '../config/tls-files.js';
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
  /** The bound SIP over TLS port; 0 without TLS. */
  readonly tlsPort: number;
};

/** TLS_CERT / TLS_KEY as read now, or an Error naming the file. */
function tlsCredentials(config: Config): TlsCredentials | Error | undefined {
  if (!config.sipTransports.includes('tls') || config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const r = readTlsCredentials(config.tlsCert, config.tlsKey);
  return r.ok ? r.credentials : new Error(`${r.keyword}: ${r.message}`);
}

export function createSipFrontEnd(deps: SipFrontEndDeps): SipFrontEnd {
  let config = deps.config;
  const log = deps.logger;
  let ua: SipUserAgent | null = null;
  const transport = new SipTransportLayer(log, (r, src) => { ua?.onMessage(r, src); }, { ...DEFAULT_TRANSPORT_LIMITS, ...deps.transportLimits });
  let started = false;
  let closed = false;
  return {
    get port() { return transport.port; },
    get tlsPort() { return transport.tlsPort; },
    async start() {
      if (started) return;
      started = true;
      ua = new SipUserAgent(config, log, deps.core, transport, deps.options);
      const creds = tlsCredentials(config);
      if (creds instanceof Error) throw creds;
      await transport.start(config.listenAddress, config.sipPort, config.sipTransports,
        creds === undefined ? undefined : { port: config.sipTlsPort, credentials: creds });
      log.info('sip_listening', {
        address: config.listenAddress, port: transport.port, transports: config.sipTransports,
        ...(creds === undefined ? {} : { tlsPort: transport.tlsPort }), srtp: config.srtp,
      });
    },
    reload(next: Config) {
      config = next;
      ua?.reload(next);
      // SPEC §15: SIGHUP re-reads the certificate and key; calls on open connections go on.
      const creds = tlsCredentials(next);
      if (creds instanceof Error) log.error('sip_tls_reload_failed', { error: creds.message, note: 'the previous certificate stays in use' });
      else if (creds !== undefined) {
        transport.setTlsCredentials(creds);
        log.info('sip_tls_reloaded', { cert: next.tlsCert });
      }
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
