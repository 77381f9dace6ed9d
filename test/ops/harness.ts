/**
 * The ops tests' harness: a real reflector core (and, when asked, the SIP front end)
 * with the ops server in-process on a loopback address, participants joined straight
 * into the core on real UDP sockets, and the headless Chromium of the dashboard tests.
 */
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { defaultConfig } from '../../src/config/defaults.js';
import type { Config } from '../../src/config/types.js';
import { createOps, type Ops } from '../../src/ops/index.js';
import type { ReflectorCore } from '../../src/reflector/api.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import type { Component } from '../../src/runtime/component.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createSipFrontEnd, type SipFrontEnd } from '../../src/sip/index.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

/** The defaults with every port on `address`, the status server on an ephemeral port there, no peers. */
export function opsConfig(address: string, extra: Partial<Config> = {}): Config {
  return { ...defaultConfig(), listenAddress: address, publicAddress: address, statusListen: { address, port: 0 }, peers: [], ...extra };
}

export interface OpsStack {
  readonly core: ReflectorCore & Component;
  /** The SIP front end, when started with `sip: true`. */
  readonly sip: SipFrontEnd | null;
  readonly ops: Ops;
  /** http://ADDRESS:PORT of the status server. */
  readonly base: string;
  /** Closes ops, SIP and core in that order. Idempotent. */
  close(): Promise<void>;
}

export interface OpsStackOptions {
  /** Start the SIP front end between core and ops, and give it to ops. */
  readonly sip?: boolean;
  /** The traffic tracker's poll interval (ops' own default when absent). */
  readonly pollMs?: number;
}

/** Starts core, (SIP,) ops; whatever started is closed again if a later step fails. */
export async function startOpsStack(config: Config, opts: OpsStackOptions = {}): Promise<OpsStack> {
  const started: Component[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const c of started.reverse()) await c.close();
  };
  try {
    const core = createReflectorCore({ config, logger: silentLogger() });
    await core.start();
    started.push(core);
    let sip: SipFrontEnd | null = null;
    if (opts.sip === true) {
      sip = createSipFrontEnd({ config, logger: silentLogger(), core });
      await sip.start();
      started.push(sip);
    }
    const ops = createOps({
      config, logger: silentLogger(), core, interconnect: null, sip, proxy: null, mixer: null,
      ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    });
    await ops.start();
    started.push(ops);
    const addr = ops.address();
    if (!addr) throw new Error('status server did not bind');
    return { core, sip, ops, base: `http://${addr.address}:${addr.port}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A node:dgram socket bound on `address`, ephemeral port. */
export function bindSocket(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => { s.off('error', reject); resolve(s); });
  });
}

/** Joins `user` into `session` straight through the core: one sendrecv PCMU stream at `socket`. Returns the participant id. */
export function joinPcmu(core: ReflectorCore, session: string, user: string, socket: Socket): string {
  const { address, port } = socket.address();
  return core.join({
    session, user, signalingAddress: address, mode: 'reflect',
    streams: [{ medium: 'audio', address, rtpPort: port, rtcpPort: port + 1, direction: 'sendrecv', ssrcs: [],
      codecs: [{ canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 }] }],
  });
}

/** The dashboard tests' headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
