/**
 * Operations (SPEC §10): the status HTTP server with JSON endpoints, the
 * dashboard and Prometheus metrics. Observes the other parts; the only thing it
 * drives is the authenticated admin DELETE. This file is the entry point main.ts
 * calls; the part itself is OpsService in ops-service.ts.
 *
 * Files of ops, one concept each:
 *   ops-service.ts      the Component: builds the pieces below, polls, closes in reverse order
 *   sources.ts          OpsDeps: what ops observes
 *   status-server.ts    the HTTP server: JSON endpoints, /metrics, dashboard, admin DELETE
 *   dashboard-html.ts   the self-contained dashboard page
 *   metrics.ts          the Prometheus registry, read from the parts' snapshots at scrape time
 *   quality-metrics.ts  call-quality histograms
 *   traffic-tracker.ts  per-participant bitrates and cumulative totals
 *   event-log.ts        the ring of recent operational events
 */
import { OpsService, type Ops } from './ops-service.js';
import type { OpsDeps } from './sources.js';

export type { Ops } from './ops-service.js';
export type { OpsDeps } from './sources.js';

export function createOps(deps: OpsDeps): Ops {
  return new OpsService(deps);
}
