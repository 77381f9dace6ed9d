/**
 * Application sharing and file transfer proxy (SPEC §7–§9). Placeholder with the
 * final signature so that main.ts can wire it; the full implementation follows.
 */
import type { Config } from '../config/types.js';
import type { InterconnectLink } from '../interconnect/api.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';

export interface ProxyDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  readonly interconnect: InterconnectLink | null;
}

export type Proxy = Component & {
  shares(): unknown[];
  files(): unknown[];
  stats(): Record<string, number>;
};

export function createProxy(deps: ProxyDeps): Proxy {
  void deps;
  return {
    async start(): Promise<void> {},
    reload(_config: Config): void {},
    async close(): Promise<void> {},
    shares(): unknown[] { return []; },
    files(): unknown[] { return []; },
    stats(): Record<string, number> { return {}; },
  };
}
