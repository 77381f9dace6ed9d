/**
 * Prometheus metrics (SPEC §10). Values are read from the parts' snapshots at
 * scrape time (collect callbacks), so nothing is counted twice and the hot
 * path carries no metrics cost beyond its own plain counters.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../runtime/version.js';
import type { OpsDeps } from './sources.js';
import type { TrafficTracker } from './traffic-tracker.js';

/** Metric label values must be valid UTF-8 and bounded; keys from stats() are snake_case by contract. */
function statLabel(key: string): string {
  return key.length > 64 ? key.slice(0, 64) : key;
}

/** Sets a counter to an absolute cumulative value read from a source. */
function setCounter(c: Counter<string>, labels: Record<string, string>, value: number): void {
  c.inc(labels, value);
}

/** stats() names that are current values; every other name a part reports is a count. */
const SIP_GAUGES: ReadonlySet<string> = new Set(['dialogs', 'server_transactions', 'client_transactions', 'tcp_connections']);
const MIXER_GAUGES: ReadonlySet<string> = new Set(['mixer_sessions', 'mixer_inputs', 'mixer_outputs']);
const PROXY_GAUGES: ReadonlySet<string> = new Set(['shares_local', 'shares_peer', 'share_viewers', 'files_local', 'files_peer']);

export function createMetrics(deps: OpsDeps, tracker: TrafficTracker): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'reflector_process_' });
  const { core, interconnect, sip, proxy, mixer } = deps;

  new Gauge({
    name: 'reflector_sessions',
    help: 'Sessions with at least one local participant',
    registers: [register],
    collect() { this.set(core.sessionNames().length); },
  });
  new Gauge({
    name: 'reflector_participants',
    help: 'Local participants',
    registers: [register],
    collect() {
      let n = 0;
      for (const s of core.sessionNames()) n += core.participantIds(s).length;
      this.set(n);
    },
  });
  new Counter({
    name: 'reflector_packets_total',
    help: 'RTP/RTCP packets received from and sent to local participants',
    labelNames: ['medium', 'kind', 'direction'],
    registers: [register],
    collect() {
      this.reset();
      for (const [medium, c] of tracker.totals()) {
        setCounter(this, { medium, kind: 'rtp', direction: 'in' }, c.rtpPacketsIn);
        setCounter(this, { medium, kind: 'rtp', direction: 'out' }, c.rtpPacketsOut);
        setCounter(this, { medium, kind: 'rtcp', direction: 'in' }, c.rtcpPacketsIn);
        setCounter(this, { medium, kind: 'rtcp', direction: 'out' }, c.rtcpPacketsOut);
      }
    },
  });
  new Counter({
    name: 'reflector_bytes_total',
    help: 'RTP/RTCP bytes received from and sent to local participants',
    labelNames: ['medium', 'kind', 'direction'],
    registers: [register],
    collect() {
      this.reset();
      for (const [medium, c] of tracker.totals()) {
        setCounter(this, { medium, kind: 'rtp', direction: 'in' }, c.rtpBytesIn);
        setCounter(this, { medium, kind: 'rtp', direction: 'out' }, c.rtpBytesOut);
        setCounter(this, { medium, kind: 'rtcp', direction: 'in' }, c.rtcpBytesIn);
        setCounter(this, { medium, kind: 'rtcp', direction: 'out' }, c.rtcpBytesOut);
      }
    },
  });
  new Counter({
    name: 'reflector_dropped_packets_total',
    help: 'Datagrams dropped, by part and reason',
    labelNames: ['part', 'reason'],
    registers: [register],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(core.drops())) setCounter(this, { part: 'reflector', reason: statLabel(reason) }, n);
      if (interconnect) {
        for (const [reason, n] of Object.entries(interconnect.drops())) setCounter(this, { part: 'interconnect', reason: statLabel(reason) }, n);
      }
    },
  });
  if (interconnect) {
    new Gauge({
      name: 'reflector_peer_up',
      help: '1 while a configured peer reflector answers HELLO',
      labelNames: ['peer'],
      registers: [register],
      collect() {
        this.reset();
        for (const p of interconnect.peers()) this.set({ peer: p.key }, p.up ? 1 : 0);
      },
    });
    new Counter({
      name: 'reflector_relay_packets_total',
      help: 'Relay datagrams exchanged with peer reflectors',
      labelNames: ['peer', 'direction'],
      registers: [register],
      collect() {
        this.reset();
        for (const p of interconnect.peers()) {
          setCounter(this, { peer: p.key, direction: 'in' }, p.relayPacketsIn);
          setCounter(this, { peer: p.key, direction: 'out' }, p.relayPacketsOut);
        }
      },
    });
    new Counter({
      name: 'reflector_relay_bytes_total',
      help: 'Relay bytes exchanged with peer reflectors',
      labelNames: ['peer', 'direction'],
      registers: [register],
      collect() {
        this.reset();
        for (const p of interconnect.peers()) {
          setCounter(this, { peer: p.key, direction: 'in' }, p.relayBytesIn);
          setCounter(this, { peer: p.key, direction: 'out' }, p.relayBytesOut);
        }
      },
    });
  }
  new Gauge({
    name: 'reflector_build_info',
    help: 'Always 1; the labels say which build runs',
    labelNames: ['version', 'node', 'io'],
    registers: [register],
    collect() {
      this.reset();
      const io = (core as { ioMode?: () => string }).ioMode?.() ?? 'unknown';
      this.set({ version: VERSION, node: process.versions.node, io }, 1);
    },
  });
  if (core.counters !== undefined) {
    const counters = core.counters.bind(core);
    new Counter({
      name: 'reflector_handled_packets_total',
      help: 'Datagrams the core handled specially, not dropped: rflx_consumed (RTCP APP RFLX requests for the reflector), telephone_event_converted, telephone_event_not_negotiated (recipients that got no event)',
      labelNames: ['kind'],
      registers: [register],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(counters())) setCounter(this, { kind: statLabel(kind) }, n);
      },
    });
  }
  /**
   * A part's stats(): the names in `gauges` are current values (reflector_<part>_stat, a gauge);
   * every other name is a monotonic count (reflector_<part>_events_total, a counter).
   */
  const statsMetrics = (part: string, source: { stats(): Record<string, number> }, gauges: ReadonlySet<string>): void => {
    new Gauge({
      name: `reflector_${part}_stat`,
      help: `Current values reported by the ${part} part, by name`,
      labelNames: ['name'],
      registers: [register],
      collect() {
        this.reset();
        for (const [name, v] of Object.entries(source.stats())) {
          if (gauges.has(name) && Number.isFinite(v)) this.set({ name: statLabel(name) }, v);
        }
      },
    });
    new Counter({
      name: `reflector_${part}_events_total`,
      help: `Counts reported by the ${part} part, by name`,
      labelNames: ['name'],
      registers: [register],
      collect() {
        this.reset();
        for (const [name, v] of Object.entries(source.stats())) {
          if (!gauges.has(name) && Number.isFinite(v) && v >= 0) setCounter(this, { name: statLabel(name) }, v);
        }
      },
    });
  };
  if (sip) {
    statsMetrics('sip', sip, SIP_GAUGES);
    new Counter({
      name: 'reflector_sip_responses_total',
      help: 'SIP responses sent, by status code',
      labelNames: ['code'],
      registers: [register],
      collect() {
        this.reset();
        for (const [name, v] of Object.entries(sip.stats())) {
          const m = /^responses_(\d{3})$/.exec(name);
          if (m && Number.isFinite(v)) setCounter(this, { code: m[1] }, v);
        }
      },
    });
    new Counter({
      name: 'reflector_sip_auth_failures_total',
      help: 'SIP digest authentication failures',
      registers: [register],
      collect() {
        this.reset();
        const v = sip.stats().auth_failures;
        this.inc(v !== undefined && Number.isFinite(v) ? v : 0);
      },
    });
  }
  if (mixer) statsMetrics('mixer', mixer, MIXER_GAUGES);
  if (proxy) {
    statsMetrics('proxy', proxy, PROXY_GAUGES);
    new Gauge({
      name: 'reflector_shares',
      help: 'Application shares available',
      registers: [register],
      collect() { this.set(proxy.shares().length); },
    });
    new Gauge({
      name: 'reflector_files',
      help: 'Files available for download',
      registers: [register],
      collect() { this.set(proxy.files().length); },
    });
  }
  return register;
}
