/**
 * The SIP front end (SPEC §4): placeholder with the final signature; the real
 * implementation follows.
 */
import type { Config } from '../config/types.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';

export interface SipFrontEndDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
}

export type SipFrontEnd = Component & { stats(): Record<string, number> };

export function createSipFrontEnd(deps: SipFrontEndDeps): SipFrontEnd {
  void deps;
  return {
    async start() { /* placeholder */ },
    reload() { /* placeholder */ },
    async close() { /* placeholder */ },
    stats() { return {}; },
  };
}
