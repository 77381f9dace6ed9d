/**
 * REFLECTOR_IO: the core reports which UDP I/O it uses, and a burst of many
 * datagrams arriving at once (several per recvmmsg batch) is fanned out
 * completely and intact with both implementations — including to a relay hook
 * that keeps the buffers past the call (the batched arena is reused after it) —
 * and a 9 kB datagram is reflected whole.
 */
import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import type { RelayPort } from '../../src/reflector/api.js';
import { BatchGroup, BatchedUdpSocket, loadMmsgAddon } from '../../src/reflector/batched-udp.js';
import { MEDIA_SOCKET_BUFFER_BYTES } from '../../src/reflector/udp-socket.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { waitUntil } from '../helpers/wait.js';
import { coreConfig, rtpPacket, TestClient, type TestCore } from './fixture.js';

const CORE_IP = '127.0.10.1';
const AUDIO = 5566;
const BURST = 200;
const CLIENT_RCVBUF = 4 * 1024 * 1024;

describe('reflector core: batched UDP I/O (REFLECTOR_IO)', () => {
  let core: TestCore | null = null;
  const clients: TestClient[] = [];
  const savedIo = process.env.REFLECTOR_IO;

  afterEach(async () => {
    await core?.close();
    core = null;
    await Promise.all(clients.splice(0).map((c) => c.close()));
    if (savedIo === undefined) delete process.env.REFLECTOR_IO;
    else process.env.REFLECTOR_IO = savedIo;
  });

  async function start(io: string | undefined): Promise<{ core: TestCore; lines: Record<string, unknown>[] }> {
    if (io === undefined) delete process.env.REFLECTOR_IO;
    else process.env.REFLECTOR_IO = io;
    const lines: Record<string, unknown>[] = [];
    const c = createReflectorCore({
      config: coreConfig(CORE_IP, { audioPort: AUDIO }),
      logger: createLogger('info', (line) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }),
    });
    core = c;
    await c.start();
    return { core: c, lines };
  }

  function listening(lines: Record<string, unknown>[]): Record<string, unknown> {
    const l = lines.find((x) => Object.values(x).includes('core_listening'));
    expect(l, 'core_listening logged').to.not.equal(undefined);
    return l as Record<string, unknown>;
  }

  it('sizes the media socket buffers as asked: uncapped (SO_RCVBUFFORCE) as root, else at most the rmem_max cap', async () => {
    const { addon } = loadMmsgAddon();
    expect(addon, 'the addon is built').to.not.equal(null);
    if (addon === null) return;
    const sock = BatchedUdpSocket.open(addon, CORE_IP, 0, () => undefined, new BatchGroup(), { sendErrors: 0 });
    try {
      const st = sock.stats();
      expect(st).to.have.length(10);
      const [rcvbuf, sndbuf] = [st[8] as number, st[9] as number];
      if (process.getuid?.() === 0) {
        // The kernel doubles the value set, for its bookkeeping.
        expect(rcvbuf).to.equal(2 * MEDIA_SOCKET_BUFFER_BYTES);
        expect(sndbuf).to.equal(2 * MEDIA_SOCKET_BUFFER_BYTES);
      } else {
        expect(rcvbuf).to.be.greaterThan(0).and.at.most(2 * MEDIA_SOCKET_BUFFER_BYTES);
        expect(sndbuf).to.be.greaterThan(0).and.at.most(2 * MEDIA_SOCKET_BUFFER_BYTES);
      }
    } finally {
      await sock.close();
    }
  });

  it('uses and reports the implementation REFLECTOR_IO asks for (auto: mmsg when the addon loads)', async () => {
    const addonLoads = loadMmsgAddon().addon !== null;
    expect(addonLoads, 'npm run build builds dist/native/mmsg.node on this machine').to.equal(true);
    for (const [io, expected] of [
      ['mmsg', 'mmsg'],
      ['dgram', 'dgram'],
      [undefined, 'mmsg'],
      ['auto', 'mmsg'],
    ] as const) {
      const { core: c, lines } = await start(io);
      expect(c.ioMode(), `REFLECTOR_IO=${String(io)}`).to.equal(expected);
      expect(listening(lines).io).to.equal(expected);
      expect(listening(lines).ioReason).to.be.a('string');
      await c.close();
      core = null;
    }
  });

  for (const io of ['mmsg', 'dgram'] as const) {
    it(`fans out ${BURST} datagrams sent at once by each of 3 participants completely and intact (${io})`, async () => {
      const { core: c } = await start(io);
      expect(c.ioMode()).to.equal(io);
      const kept: Buffer[] = [];
      const relay: RelayPort = {
        forward: (_session, _medium, rtcp, packet) => {
          if (!rtcp) kept.push(packet); // kept past the call, as an asynchronous relay send would
        },
      };
      c.setRelayPort(relay);
      const all: TestClient[] = [];
      for (let i = 0; i < 3; i++) {
        const x = await TestClient.create(`127.0.10.${11 + i}`);
        clients.push(x);
        all.push(x);
        x.rtp.socket.setRecvBufferSize(CLIENT_RCVBUF);
        x.join(c, 'burst');
      }
      // Tight loop: no awaiting between sends, so the core finds many datagrams per wake-up.
      for (let seq = 0; seq < BURST; seq++) {
        for (let i = 0; i < 3; i++) {
          const payload = Buffer.alloc(160, (i * 7 + seq) & 0xff);
          all[i].rtp.socket.send(rtpPacket(0x5000 + i, seq, 0, payload), AUDIO, CORE_IP);
        }
      }
      await waitUntil(() => all.every((x) => x.rtp.all.length >= 2 * BURST) && kept.length >= 3 * BURST, 10_000, 'the burst fanned out');
      for (const [r, x] of all.entries()) {
        const seen = new Set<string>();
        for (const { msg, rinfo } of x.rtp.all) {
          expect(rinfo.port).to.equal(AUDIO);
          const ssrc = msg.readUInt32BE(8);
          const i = ssrc - 0x5000;
          const seq = msg.readUInt16BE(2);
          expect(i).to.be.oneOf([0, 1, 2].filter((k) => k !== r), 'never back to the sender');
          expect(msg.length).to.equal(12 + 160);
          expect(msg.subarray(12).every((b) => b === ((i * 7 + seq) & 0xff)), 'payload intact').to.equal(true);
          seen.add(`${i}/${seq}`);
        }
        expect(x.rtp.all).to.have.length(2 * BURST);
        expect(seen.size).to.equal(2 * BURST, 'each datagram exactly once');
      }
      // Buffers the relay hook kept are still the datagrams it was given.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const relayed = new Set<string>();
      for (const msg of kept) {
        const i = msg.readUInt32BE(8) - 0x5000;
        const seq = msg.readUInt16BE(2);
        expect(msg.subarray(12).every((b) => b === ((i * 7 + seq) & 0xff)), 'kept buffer intact').to.equal(true);
        relayed.add(`${i}/${seq}`);
      }
      expect(relayed.size).to.equal(3 * BURST);
      // A datagram far larger than RTP usually is (no MTU on loopback) is reflected whole.
      const big = rtpPacket(0x5000, BURST, 0, Buffer.alloc(9000, 0xab));
      all[0].rtp.socket.send(big, AUDIO, CORE_IP);
      await waitUntil(() => all[1].rtp.all.length > 2 * BURST && all[2].rtp.all.length > 2 * BURST, 10_000, 'the large datagram');
      for (const x of [all[1], all[2]]) expect(x.rtp.all[2 * BURST].msg.equals(big)).to.equal(true);
      expect(c.drops().send_error).to.equal(0);
      expect(c.drops().rx_truncated).to.equal(0);
    });
  }
});
