/**
 * Starts the real reflector core and the SIP front end in-process on a
 * loopback address of the SIP tests (127.0.2.x), with the standard ports.
 */
import { defaultConfig } from '../../src/config/defaults.js';
import type { Config } from '../../src/config/types.js';
import type { LeaveReason, ReflectorCore } from '../../src/reflector/api.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import type { Component } from '../../src/runtime/component.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createSipFrontEnd, type SipFrontEnd } from '../../src/sip/index.js';
import type { TransportLimits } from '../../src/sip/transport/transport.js';
import type { UserAgentOptions } from '../../src/sip/index.js';

export interface Harness {
  readonly config: Config;
  readonly core: ReflectorCore & Component;
  readonly sip: SipFrontEnd;
  readonly removed: { id: string; session: string; reason: LeaveReason }[];
  readonly joined: string[];
  close(): Promise<void>;
}

export function testConfig(address: string, overrides: Partial<Config> = {}): Config {
  const base = defaultConfig();
  const { statusListen: _s, ...rest } = base;
  void _s;
  return { ...rest, reflectorId: 'sip-test', listenAddress: address, publicAddress: address, sipRealm: 'sip-test', inactivityTimeoutS: 120, ...overrides };
}

export async function startHarness(config: Config, options: UserAgentOptions = {}, transportLimits: Partial<TransportLimits> = {}): Promise<Harness> {
  const logger = process.env.SIP_TEST_LOG === '1' ? (await import('../../src/runtime/logger.js')).createLogger('debug') : silentLogger();
  const core = createReflectorCore({ config, logger });
  const removed: Harness['removed'] = [];
  const joined: string[] = [];
  core.events.on('participant-removed', (id, session, reason) => { removed.push({ id, session, reason }); });
  core.events.on('participant-joined', (snap) => { joined.push(snap.id); });
  await core.start();
  const sip = createSipFrontEnd({ config, logger, core, options, transportLimits });
  try {
    await sip.start();
  } catch (err) {
    await core.close();
    throw err;
  }
  let closed = false;
  return {
    config, core, sip, removed, joined,
    async close() {
      if (closed) return;
      closed = true;
      await sip.close();
      await core.close();
    },
  };
}
