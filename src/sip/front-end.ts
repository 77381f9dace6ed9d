/**
 * The SIP front end (SPEC §4), composed from its RFC 3261 layers:
 * transports on SIP_PORT → the transaction layer → the conference UAS (which keeps the dialogs
 * and joins callers to sessions of the reflector core).
 */
import type { Config } from '../config/types.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import { RateLimitedLog } from '../runtime/rate-limited-log.js';
import { DEFAULT_SIP_ADMISSION, SipAdmission, type SipAdmissionLimits } from './admission.js';
import { SipCounters } from './counters.js';
import { SipTransactionLayer } from './transaction/transaction-layer.js';
import { DEFAULT_TRANSPORT_LIMITS, SipTransportLayer, type TransportLimits } from './transport/transport.js';
import { ConferenceUas, type ConferenceUasOptions } from './uas/conference-uas.js';

/** Tuning and test hooks of the SIP front end. */
export interface UserAgentOptions extends ConferenceUasOptions {
  readonly maxServerTransactions?: number;
  readonly maxClientTransactions?: number;
  /** Per-source limits and the stateless-response budget (admission.ts); defaults in DEFAULT_SIP_ADMISSION. */
  readonly admission?: Partial<SipAdmissionLimits>;
}

/** Refusals (floods) are logged at most once per reason per this interval; the counters count them all. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

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
  /**
   * Draining before a stop (DRAIN_TIMEOUT): from now on OPTIONS and new INVITEs get 503 with
   * Retry-After while the dialogs in progress go on. Resolves `idle` once no dialog is left,
   * `timeout` after `timeoutMs`, `aborted` when `signal` aborts. close() still ends what is left.
   */
  drain(timeoutMs: number, signal?: AbortSignal): Promise<DrainResult>;
};

export type DrainResult = 'idle' | 'timeout' | 'aborted';

/** How often a drain looks whether the last dialog has ended. */
const DRAIN_POLL_MS = 100;

export function createSipFrontEnd(deps: SipFrontEndDeps): SipFrontEnd {
  let config = deps.config;
  const log = deps.logger;
  const opts = deps.options ?? {};
  const counts = new SipCounters();
  let layers: { readonly tl: SipTransactionLayer; readonly uas: ConferenceUas } | null = null;
  const refusalLog = new RateLimitedLog(log, REFUSAL_LOG_INTERVAL_MS);
  const admissionLimits: SipAdmissionLimits = {
    ...DEFAULT_SIP_ADMISSION,
    ...(opts.maxServerTransactions !== undefined
      ? { maxServerTransactions: opts.maxServerTransactions, reservedServerTransactions: Math.floor(opts.maxServerTransactions / 4) }
      : {}),
    ...opts.admission,
  };
  const peerAddresses = (): ReadonlySet<string> => new Set(config.peers.map((p) => p.address));
  let peers = peerAddresses();
  const admission = new SipAdmission(() => admissionLimits, refusalLog, (ip) => peers.has(ip));
  const transport = new SipTransportLayer(log, (r, src) => { layers?.tl.onMessage(r, src); },
    { ...DEFAULT_TRANSPORT_LIMITS, ...deps.transportLimits }, (ip) => admission.isKnown(ip), refusalLog);
  let started = false;
  let closed = false;
  return {
    get port() { return transport.port; },
    async start() {
      if (started) return;
      started = true;
      const tl = new SipTransactionLayer(transport, counts, log, {
        maxServerTransactions: opts.maxServerTransactions ?? 20_000,
        maxClientTransactions: opts.maxClientTransactions ?? 4096,
        admission,
      });
      const uas = new ConferenceUas(config, log, deps.core, tl, counts, opts, admission);
      tl.attach(uas);
      layers = { tl, uas };
      await transport.start(config.listenAddress, config.sipPort, config.sipTransports);
      log.info('sip_listening', { address: config.listenAddress, port: transport.port, transports: config.sipTransports });
    },
    reload(next: Config) {
      config = next;
      peers = peerAddresses();
      layers?.uas.reload(next);
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
    drain(timeoutMs: number, signal?: AbortSignal): Promise<DrainResult> {
      layers?.uas.drain(Math.max(1, Math.ceil(timeoutMs / 1000)));
      const deadline = Date.now() + timeoutMs;
      return new Promise<DrainResult>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = (r: DrainResult): void => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        };
        const onAbort = (): void => { finish('aborted'); };
        const look = (): void => {
          if ((layers?.uas.dialogCount ?? 0) === 0) finish('idle');
          else if (Date.now() >= deadline) finish('timeout');
          else { timer = setTimeout(look, Math.min(DRAIN_POLL_MS, Math.max(1, deadline - Date.now()))); timer.unref(); }
        };
        if (signal?.aborted === true) { finish('aborted'); return; }
        signal?.addEventListener('abort', onAbort, { once: true });
        look();
      });
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
      // Admission refusals by reason (sip_refused_*, sip_response_*), see admission.ts.
      for (const [k, v] of admission.counts) out[k] = v;
      out.parse_drops = transport.drops.total();
      out.tcp_connections = transport.connectionCount();
      return out;
    },
  };
}
