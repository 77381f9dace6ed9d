/**
 * The audio mixer (SPEC §13). Minimal placeholder so that main.ts can wire it;
 * the full mixer replaces this body while keeping the signature.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Component } from '../runtime/component.js';
import type { ReflectorCore } from '../reflector/api.js';

export interface MixerDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
}

export type Mixer = Component & { stats(): Record<string, number> };

export function createMixer(deps: MixerDeps): Mixer {
  void deps;
  return {
    async start(): Promise<void> {},
    reload(_config: Config): void {},
    async close(): Promise<void> {},
    stats(): Record<string, number> {
      return {};
    },
  };
}
