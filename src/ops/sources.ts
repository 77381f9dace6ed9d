/**
 * What ops observes. Ops reads these; it never drives behaviour, except the
 * admin DELETE endpoints which go through the core's own leave().
 */
import type { Config } from '../config/types.js';
import type { InterconnectLink } from '../interconnect/api.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Logger } from '../runtime/logger.js';

export interface StatsSource {
  stats(): Record<string, number>;
}

export interface ListingSource extends StatsSource {
  shares(): unknown[];
  files(): unknown[];
}

export interface OpsDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  readonly interconnect: InterconnectLink | null;
  readonly sip: StatsSource | null;
  readonly proxy: ListingSource | null;
  readonly mixer: StatsSource | null;
  /** Poll interval of the traffic tracker (tests shorten it). */
  readonly pollMs?: number;
}
