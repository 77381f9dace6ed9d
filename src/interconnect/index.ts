/**
 * Reflector interconnection (SPEC §6). Minimal placeholder so that main.ts can
 * wire it; the full implementation replaces this body keeping the signature.
 */
import type { Config } from '../config/types.js';
import type { ReflectorCore } from '../reflector/api.js';
import type { Component } from '../runtime/component.js';
import type { Logger } from '../runtime/logger.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import type { InterconnectEvents, InterconnectLink, PeerSnapshot } from './api.js';

export interface InterconnectTiming {
  /** HELLO interval (SPEC §6: 5 s). */
  readonly helloMs: number;
  /** SESSION_STATE refresh interval (SPEC §6: 5 s). */
  readonly refreshMs: number;
}

export interface InterconnectDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
  /** Shorter intervals for tests. */
  readonly timing?: Partial<InterconnectTiming>;
}

export type Interconnect = InterconnectLink & Component;

export function createInterconnect(deps: InterconnectDeps): Interconnect {
  void deps;
  const events = new TypedEmitter<InterconnectEvents>();
  return {
    events,
    async start(): Promise<void> {},
    reload(_config: Config): void {},
    async close(): Promise<void> {},
    peersWithParticipants(_session: string): readonly string[] { return []; },
    remoteCount(_session: string): number { return 0; },
    sendRflx(): void {},
    peerAddress(_peerKey: string): string | undefined { return undefined; },
    peers(): readonly PeerSnapshot[] { return []; },
    drops(): Readonly<Record<string, number>> { return {}; },
  };
}
