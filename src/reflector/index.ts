/**
 * The reflector core's public entry point (SPEC §5). main.ts builds the core
 * with createReflectorCore(); everything else reaches it through api.ts.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Component } from '../runtime/component.js';
import type { ReflectorCore } from './api.js';
import { ReflectorCoreImpl } from './reflector-core.js';

export interface ReflectorCoreDeps {
  readonly config: Config;
  readonly logger: Logger;
}

export function createReflectorCore(deps: ReflectorCoreDeps): ReflectorCore & Component {
  return new ReflectorCoreImpl(deps.config, deps.logger);
}
