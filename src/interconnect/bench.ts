/**
 * The relay's cost, for tools/bench: two interconnects in this process on
 * loopback (127.0.22.201 and .202), real UDP sockets between them, one
 * participant each; A relays `packets` RTP datagrams of `sizeBytes` from its
 * participant to B. CPU time of the process (user + system) per relayed packet
 * covers one hop: shim (+ AEAD seal), send, receive, (AEAD open,) parse and
 * the hand-over to B's core — plain against protected (a link with a secret).
 */
import { defaultConfig } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import type { CoreEvents, Medium, ParticipantSnapshot, ReflectorCore, RelayPort } from '../reflector/api.js';
import { silentLogger } from '../runtime/logger.js';
import { TypedEmitter } from '../runtime/typed-emitter.js';
import { createInterconnect, type Interconnect } from './index.js';

export interface RelayBenchOptions {
  readonly packets: number;
  /** RTP packet size (header + payload). */
  readonly sizeBytes: number;
  /** A shared secret: the protected relay; undefined: plain. */
  readonly secret?: string;
  readonly addresses?: readonly [string, string];
  readonly port?: number;
}

export interface RelayBenchResult {
  readonly protected: boolean;
  readonly sizeBytes: number;
  readonly packets: number;
  readonly delivered: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  /** CPU µs (user + system, both ends) per delivered packet. */
  readonly cpuUsPerPacket: number;
}

/** Just what the interconnect uses of a core: one participant, and a count of what it delivers. */
class BenchCore {
  readonly events = new TypedEmitter<CoreEvents>();
  relay: RelayPort | null = null;
  delivered = 0;
  readonly #sessions = new Map<string, string[]>();

  add(session: string): void {
    const id = `bench-${this.#sessions.size + 1}`;
    this.#sessions.set(session, [id]);
    this.events.emit('session-created', session);
    const snap: ParticipantSnapshot = { id, session, mode: 'reflect', joinedAt: Date.now(), lastActivityAt: Date.now(), streams: [] };
    this.events.emit('participant-joined', snap);
  }

  setRelayPort(port: RelayPort | null): void { this.relay = port; }
  sessionNames(): readonly string[] { return [...this.#sessions.keys()]; }
  participantIds(session: string): readonly string[] { return this.#sessions.get(session) ?? []; }
  injectRelayed(_session: string, _medium: Medium, _rtcp: boolean, _packet: Buffer): void { this.delivered++; }
}

function asCore(c: BenchCore): ReflectorCore {
  // The interconnect calls only events, setRelayPort, sessionNames, participantIds and injectRelayed.
  return c as unknown as ReflectorCore;
}

function config(self: string, peer: string, port: number, secret: string | undefined): Config {
  return {
    ...defaultConfig(),
    reflectorId: `bench-${self}`,
    listenAddress: self,
    publicAddress: self,
    peers: [{ address: peer, rtpRelayPort: port, ...(secret !== undefined ? { secret } : {}) }],
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function benchRelay(o: RelayBenchOptions): Promise<RelayBenchResult> {
  const [a, b] = o.addresses ?? ['127.0.22.201', '127.0.22.202'];
  const port = o.port ?? 25664;
  const coreA = new BenchCore();
  const coreB = new BenchCore();
  const timing = { helloMs: 200, refreshMs: 500 };
  const linkA: Interconnect = createInterconnect({ config: config(a, b, port, o.secret), logger: silentLogger(), core: asCore(coreA), timing });
  const linkB: Interconnect = createInterconnect({ config: config(b, a, port, o.secret), logger: silentLogger(), core: asCore(coreB), timing });
  try {
    await Promise.all([linkA.start(), linkB.start()]);
    coreA.add('bench');
    coreB.add('bench');
    const packet = Buffer.alloc(o.sizeBytes);
    packet[0] = 0x80;
    packet[1] = 0;
    packet.writeUInt32BE(0x0bec4, 8);
    for (let i = 12; i < packet.length; i++) packet[i] = i & 0xff;
    // Until B has joined A's media: probe every 20 ms (bounded).
    for (let i = 0; i < 250 && coreB.delivered === 0; i++) {
      coreA.relay?.forward('bench', 'audio', false, packet);
      await sleep(20);
    }
    if (coreB.delivered === 0) throw new Error('relay bench: the two interconnects did not connect');
    await sleep(50);
    coreB.delivered = 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const BATCH = 32;
    for (let sent = 0; sent < o.packets; sent += BATCH) {
      for (let i = 0; i < BATCH && sent + i < o.packets; i++) {
        packet.writeUInt16BE((sent + i) & 0xffff, 2);
        coreA.relay?.forward('bench', 'audio', false, packet);
      }
      await tick();
    }
    // Let the last ones arrive (bounded).
    for (let i = 0; i < 200 && coreB.delivered < o.packets; i++) await tick();
    const t1 = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const delivered = coreB.delivered;
    return {
      protected: o.secret !== undefined,
      sizeBytes: o.sizeBytes,
      packets: o.packets,
      delivered,
      cpuMs,
      wallMs: Number(t1 - t0) / 1e6,
      cpuUsPerPacket: delivered > 0 ? (cpuMs * 1000) / delivered : Number.NaN,
    };
  } finally {
    await Promise.all([linkA.close(), linkB.close()]);
  }
}
