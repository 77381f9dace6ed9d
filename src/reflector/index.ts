/**
 * The reflector core's public entry point (SPEC §5). main.ts builds the core
 * with createReflectorCore(); everything else reaches it through api.ts.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Component } from '../runtime/component.js';
import type { CodecMapping, Medium, ReflectorCore } from './api.js';
import { ReflectorCoreImpl } from './reflector-core.js';

export interface ReflectorCoreDeps {
  readonly config: Config;
  readonly logger: Logger;
}

/** Members of the core beyond api.ts (additive). */
export interface ReflectorCoreExtras {
  /** A participant's negotiated codecs with its own PT numbers; undefined for an unknown id. */
  participantCodecs(participantId: string, medium: Medium): readonly CodecMapping[] | undefined;
}

export function createReflectorCore(deps: ReflectorCoreDeps): ReflectorCore & ReflectorCoreExtras & Component {
  return new ReflectorCoreImpl(deps.config, deps.logger);
}
