/**
 * Operations (SPEC §10): the status HTTP server with JSON endpoints, the
 * dashboard and Prometheus metrics. Observes the other parts; the only thing it
 * drives is the authenticated admin DELETE.
 */
import type { Config } from '../config/types.js';
import type { Component } from '../runtime/component.js';
import { TimerSet } from '../runtime/timer-set.js';
import { EventLog } from './event-log.js';
import { createMetrics } from './metrics.js';
import { QualityMetrics } from './quality-metrics.js';
import type { OpsDeps } from './sources.js';
import { StatusServer } from './status-server.js';
import { TrafficTracker } from './traffic-tracker.js';

export type { OpsDeps } from './sources.js';

export interface Ops extends Component {
  /** The bound status address, or null when STATUS_LISTEN is off or not started. */
  address(): { address: string; port: number } | null;
}

export function createOps(deps: OpsDeps): Ops {
  const tracker = new TrafficTracker(deps.core);
  const registry = createMetrics(deps, tracker);
  const quality = new QualityMetrics(registry);
  const events = new EventLog();
  const server = new StatusServer(deps, tracker, registry, events);
  const timers = new TimerSet();
  let closed = false;
  return {
    async start() {
      events.attach(deps);
      quality.attach(deps.core);
      await server.listen();
      timers.every('poll', deps.pollMs ?? 1000, () => {
        tracker.poll();
        events.pollListings(deps.proxy);
      });
      const a = server.address();
      if (a) deps.logger.info('status_listening', { address: a.address, port: a.port });
    },
    reload(config: Config) {
      server.reload(config);
    },
    async close() {
      if (closed) return;
      closed = true;
      timers.dispose();
      events.detach();
      quality.detach();
      await server.close();
    },
    address: () => server.address(),
  };
}
