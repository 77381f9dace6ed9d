/**
 * Shared set-up of the reflector core tests: a core on its own loopback
 * address (fixed ports: each test file uses its own 127.0.1.N), and clients
 * with an RTP and an RTCP socket on their own loopback address.
 */
import { defaultConfig } from '../../src/config/defaults.js';
import type { Config } from '../../src/config/types.js';
import { silentLogger } from '../../src/runtime/logger.js';
import type { CodecMapping, Direction, JoinRequest, Medium, StreamSpec } from '../../src/reflector/api.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import type { ReflectorCore } from '../../src/reflector/api.js';
import { encodeRtp } from '../../src/rtp/rtp-header.js';
import { bindUdp, closeAll, type TestUdp } from '../helpers/udp.js';

/** Bounded waits: generous, because the suite shares a small, busy machine; they only matter on failure. */
export const WAIT_MS = 5000;

export function coreConfig(address: string, overrides: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    listenAddress: address,
    publicAddress: address,
    statusListen: undefined,
    ...overrides,
  };
}

export type TestCore = ReturnType<typeof createReflectorCore>;

export async function startCore(address: string, overrides: Partial<Config> = {}): Promise<{ core: TestCore; config: Config }> {
  const config = coreConfig(address, overrides);
  const core = createReflectorCore({ config, logger: silentLogger() });
  await core.start();
  return { core, config };
}

export const PCMU: CodecMapping = { canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 };

export function codec(name: string, canonicalPt: number, participantPt: number, clockRateHz = 8000): CodecMapping {
  return { canonicalPt, participantPt, name, clockRateHz, channels: 1 };
}

/** A client with RTP and RTCP sockets for one medium. */
export class TestClient {
  readonly rtp: TestUdp;
  readonly rtcp: TestUdp;
  readonly ip: string;
  id = '';

  private constructor(ip: string, rtp: TestUdp, rtcp: TestUdp) {
    this.ip = ip;
    this.rtp = rtp;
    this.rtcp = rtcp;
  }

  static async create(ip: string): Promise<TestClient> {
    const rtp = await bindUdp(ip);
    const rtcp = await bindUdp(ip);
    return new TestClient(ip, rtp, rtcp);
  }

  stream(opts: { medium?: Medium; codecs?: CodecMapping[]; ssrcs?: number[]; direction?: Direction; address?: string; rtpPort?: number; rtcpPort?: number } = {}): StreamSpec {
    return {
      medium: opts.medium ?? 'audio',
      address: opts.address ?? this.ip,
      rtpPort: opts.rtpPort ?? this.rtp.port,
      rtcpPort: opts.rtcpPort ?? this.rtcp.port,
      direction: opts.direction ?? 'sendrecv',
      ssrcs: opts.ssrcs ?? [],
      codecs: opts.codecs ?? [PCMU],
    };
  }

  /**
   * Joins like the SIP front end does; by default the dialog's ACK then comes from the
   * client's IP (confirmAddress), which makes its SDP address a permitted destination.
   */
  join(
    core: ReflectorCore,
    session: string,
    streams: StreamSpec[] = [this.stream()],
    extra: Partial<JoinRequest> = {},
    ack: string | null = this.ip,
  ): string {
    this.id = core.join({ session, signalingAddress: this.ip, mode: 'reflect', streams, ...extra });
    if (ack !== null) core.confirmAddress(this.id, ack);
    return this.id;
  }

  close(): Promise<void> {
    return closeAll([this.rtp, this.rtcp]);
  }
}

export function rtpPacket(ssrc: number, seq: number, pt = 0, payload: Uint8Array = Buffer.from('payload!')): Buffer {
  return encodeRtp({ payloadType: pt, sequenceNumber: seq, timestamp: seq * 160, ssrc }, payload);
}

/** A minimal RTCP RR (no report blocks) from `ssrc`, optionally followed by more packets. */
export function rtcpRr(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

/** RTCP BYE for `ssrcs`. */
export function rtcpBye(ssrcs: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * ssrcs.length);
  b[0] = 0x80 | ssrcs.length;
  b[1] = 203;
  b.writeUInt16BE(ssrcs.length, 2);
  ssrcs.forEach((s, i) => b.writeUInt32BE(s, 4 + 4 * i));
  return b;
}

/**
 * Clients and bare sockets for one describe block, all closed after each test
 * (registers its own afterEach). Call it in the describe body.
 */
export function useTestClients(): { client(ip: string): Promise<TestClient>; sock(ip: string): Promise<TestUdp> } {
  const clients: TestClient[] = [];
  const socks: TestUdp[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await closeAll(socks.splice(0));
  });
  return {
    async client(ip: string): Promise<TestClient> {
      const c = await TestClient.create(ip);
      clients.push(c);
      return c;
    },
    async sock(ip: string): Promise<TestUdp> {
      const s = await bindUdp(ip);
      socks.push(s);
      return s;
    },
  };
}
