/**
 * The SIP front end (SPEC §4, §15), composed from its RFC 3261 layers:
 * transports on SIP_PORT (and SIP over TLS on SIP_TLS_PORT) → the transaction layer → the conference UAS (which keeps the dialogs
 * and joins callers to sessions of the reflector core).
 */
import { readTlsCredentials, type TlsCredentials } from '../config/tls-files.js';
import type { Config } from '../config/types.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import { SipCounters } from './counters.js';
import { SipTransactionLayer } from './transaction/transaction-layer.js';
import { DEFAULT_TRANSPORT_LIMITS, SipTransportLayer, type TransportLimits } from './transport/transport.js';
import { ConferenceUas, type ConferenceUasOptions } from './uas/conference-uas.js';

/** Tuning and test hooks of the SIP front end. */
export interface UserAgentOptions extends ConferenceUasOptions {
  readonly maxServerTransactions?: number;
  readonly maxClientTransactions?: number;
}

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
  const opts = deps.options ?? {};
  const counts = new SipCounters();
  let layers: { readonly tl: SipTransactionLayer; readonly uas: ConferenceUas } | null = null;
  const transport = new SipTransportLayer(log, (r, src) => { layers?.tl.onMessage(r, src); },
    { ...DEFAULT_TRANSPORT_LIMITS, ...deps.transportLimits });
  let started = false;
  let closed = false;
  return {
    get port() { return transport.port; },
    get tlsPort() { return transport.tlsPort; },
    async start() {
      if (started) return;
      started = true;
      const tl = new SipTransactionLayer(transport, counts, log, {
        maxServerTransactions: opts.maxServerTransactions ?? 20_000,
        maxClientTransactions: opts.maxClientTransactions ?? 4096,
      });
      const uas = new ConferenceUas(config, log, deps.core, tl, counts, opts);
      tl.attach(uas);
      layers = { tl, uas };
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
      layers?.uas.reload(next);
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
      if (layers !== null) {
        await layers.uas.shutdown();
        layers.uas.dispose();
        layers.tl.dispose();
      }
      await transport.close();
    },
    stats() {
      const out: Record<string, number> = counts.snapshot();
      if (layers !== null) {
        out.dialogs = layers.uas.dialogCount;
        out.server_transactions = layers.tl.serverTransactions;
        out.client_transactions = layers.tl.clientTransactions;
      }
      // One count per dropped datagram or frame: the transport's, by reason (parse drops included).
      for (const [k, v] of Object.entries(transport.drops.snapshot())) out[`drop_${k}`] = v;
      out.parse_drops = transport.drops.total();
      out.tcp_connections = transport.connectionCount();
      return out;
    },
  };
}
