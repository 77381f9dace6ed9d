/**
 * Builds interconnect nodes for tests: a stand-in core (see stand-in-core.ts)
 * plus a real interconnect bound on its own loopback address (127.0.3.x), all
 * on the same relay port, as SPEC §3 describes for a firewall pair on one host.
 * useTestNodes() starts them for one describe block and closes them after each
 * test; startRealNode() is a reflector with the real core instead (also the
 * proxy tests' reflectors, test/proxy/harness.ts).
 */
import { defaultConfig } from '../../src/config/defaults.js';
import type { Config, PeerConfig } from '../../src/config/types.js';
import { createInterconnect, type Interconnect, type InterconnectTiming } from '../../src/interconnect/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { startCore, type TestCore } from '../reflector/fixture.js';
import { StandInCore } from './stand-in-core.js';

/** Below the ephemeral range, on addresses only these tests use. */
export const RELAY_PORT = 25564;
export const FAST: InterconnectTiming = { helloMs: 250, refreshMs: 500 };

export function ip(n: number): string {
  return `127.0.3.${n}`;
}

export function keyOf(address: string, port = RELAY_PORT): string {
  return `${address}:${port}`;
}

export interface TestNode {
  readonly address: string;
  /** How the peers name this node. */
  readonly key: string;
  readonly core: StandInCore;
  link: Interconnect;
  config: Config;
}

export interface NodeOptions {
  readonly timing?: Partial<InterconnectTiming>;
  /** Secret for every peer of this node. */
  readonly secret?: string;
  readonly core?: StandInCore;
}

export function nodeConfig(address: string, peerAddresses: readonly string[], secret?: string): Config {
  const peers: PeerConfig[] = peerAddresses.map((a) => ({
    address: a, rtpRelayPort: RELAY_PORT, ...(secret !== undefined ? { secret } : {}),
  }));
  return { ...defaultConfig(), reflectorId: `r-${address}`, listenAddress: address, publicAddress: address, peers };
}

export async function startNode(address: string, peerAddresses: readonly string[], opts: NodeOptions = {}): Promise<TestNode> {
  const core = opts.core ?? new StandInCore();
  const config = nodeConfig(address, peerAddresses, opts.secret);
  const link = createInterconnect({ config, logger: silentLogger(), core, timing: { ...FAST, ...opts.timing } });
  await link.start();
  return { address, key: keyOf(address), core, link, config };
}

/** An RTP packet whose payload names it, so tests can tell packets apart. */
export function rtpPacket(seq: number, tag: string): Buffer {
  const p = Buffer.alloc(12 + tag.length);
  p[0] = 0x80;
  p[1] = 0;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(seq * 160, 4);
  p.writeUInt32BE(0x11223344, 8);
  p.write(tag, 12, 'latin1');
  return p;
}

/** A minimal RTCP RR (no report blocks): the reflector fixture's. */
export { rtcpRr as rtcpPacket } from '../reflector/fixture.js';

export function peerSnap(node: TestNode, peer: TestNode) {
  const s = node.link.peers().find((p) => p.key === peer.key);
  if (s === undefined) throw new Error(`${node.key} has no peer ${peer.key}`);
  return s;
}

export async function closeAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.link.close()));
}

/** What a test closes when it ends besides its nodes (a raw peer, a socket). */
export interface Closable {
  close(): Promise<void> | void;
}

export interface TestNodes {
  /** startNode(), closed after the test. */
  start(address: string, peerAddresses: readonly string[], opts?: NodeOptions): Promise<TestNode>;
  /** Closes `c` after the test, after the nodes. */
  track<T extends Closable>(c: T): T;
}

/**
 * Nodes and whatever else a test tracks, for one describe block: all closed after each test
 * (registers its own afterEach, like useTestClients() in test/reflector/fixture.ts) — the nodes
 * first, then the rest. Call it in the describe body.
 */
export function useTestNodes(): TestNodes {
  const nodes: TestNode[] = [];
  const others: Closable[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
    await Promise.all(others.splice(0).map((c) => c.close()));
  });
  return {
    async start(address, peerAddresses, opts) {
      const node = await startNode(address, peerAddresses, opts);
      nodes.push(node);
      return node;
    },
    track(c) {
      others.push(c);
      return c;
    },
  };
}

/** A reflector with the real core (test/reflector/fixture.ts) and a real interconnect. */
export interface RealNode {
  readonly address: string;
  readonly core: TestCore;
  readonly config: Config;
  readonly link: Interconnect;
}

export interface RealNodeOptions {
  /** Config over the core's test defaults (reflectorId r-<address>). */
  readonly config?: Partial<Config>;
  /** Its peers' addresses, at `relayPort`. */
  readonly peers?: readonly string[];
  readonly relayPort?: number;
  readonly timing?: Partial<InterconnectTiming>;
}

/** Starts the real core and a real interconnect on `address`; the caller closes both (link first). */
export async function startRealNode(address: string, opts: RealNodeOptions = {}): Promise<RealNode> {
  const relayPort = opts.relayPort ?? RELAY_PORT;
  const peers: PeerConfig[] = (opts.peers ?? []).map((peer) => ({ address: peer, rtpRelayPort: relayPort }));
  const { core, config } = await startCore(address, { reflectorId: `r-${address}`, peers, ...opts.config });
  const link = createInterconnect({ config, logger: silentLogger(), core, timing: { ...FAST, ...opts.timing } });
  await link.start();
  return { address, core, config, link };
}
