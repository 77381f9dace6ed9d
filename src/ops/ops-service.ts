/**
 * The ops part as one Component: builds the traffic tracker, the metrics registry,
 * the quality histograms, the event log and the status server, polls the tracker,
 * and closes them in reverse order. Observes the other parts through OpsDeps.
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

export interface Ops extends Component {
  /** The bound status address, or null when STATUS_LISTEN is off or not started. */
  address(): { address: string; port: number } | null;
}

export class OpsService implements Ops {
  readonly #deps: OpsDeps;
  readonly #tracker: TrafficTracker;
  readonly #quality: QualityMetrics;
  readonly #events = new EventLog();
  readonly #server: StatusServer;
  readonly #timers = new TimerSet();
  #closed = false;

  constructor(deps: OpsDeps) {
    this.#deps = deps;
    this.#tracker = new TrafficTracker(deps.core);
    const registry = createMetrics(deps, this.#tracker);
    this.#quality = new QualityMetrics(registry);
    this.#server = new StatusServer(deps, this.#tracker, registry, this.#events);
  }

  async start(): Promise<void> {
    const deps = this.#deps;
    this.#events.attach(deps);
    this.#quality.attach(deps.core);
    await this.#server.listen();
    this.#timers.every('poll', deps.pollMs ?? 1000, () => {
      this.#tracker.poll();
      this.#events.pollListings(deps.proxy);
    });
    const a = this.#server.address();
    if (a) deps.logger.info('status_listening', { address: a.address, port: a.port });
  }

  reload(config: Config): void {
    this.#server.reload(config);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.dispose();
    this.#events.detach();
    this.#quality.detach();
    await this.#server.close();
  }

  address(): { address: string; port: number } | null {
    return this.#server.address();
  }
}
