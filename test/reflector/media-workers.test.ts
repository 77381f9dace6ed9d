/**
 * MEDIA_WORKERS (SPEC §17): with 2 workers every media port has two sockets (SO_REUSEPORT), the
 * kernel spreads the sources over them, and the output is what one thread gives: every datagram
 * to every other member, each source's datagrams in order and intact, the counters complete —
 * for a plain session (fanned out by the worker thread itself) and a session with PT rewrite
 * (handed to JavaScript on the main thread). A port in use stays refused, also by a second
 * reflector with workers; the sockets go when the core closes.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'mocha';
import { loadMmsgAddon } from '../../src/reflector/batched-udp.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { bindUdp, closeAll, type TestUdp } from '../helpers/udp.js';
import { waitUntil } from '../helpers/wait.js';
import { codec, coreConfig, rtpPacket, TestClient, type TestCore } from './fixture.js';

const CORE_IP = '127.0.15.1';
const AUDIO = 5766;
const MEMBERS = 16;
const ROUNDS = 30;
const CLIENT_RCVBUF = 4 * 1024 * 1024;

/**
 * Sockets bound to `port` on any address (/proc/net/udp; the test runs on IPv4). Each line is
 * `sl: local_address rem_address …`; `sl` is not padded once the table has over 9999 buckets.
 */
function socketsOnPort(port: number): number {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1).filter((l) => l.trim().split(/\s+/)[1]?.endsWith(suffix)).length;
}

describe('reflector core: MEDIA_WORKERS 2', function () {
  this.timeout(30_000);
  const cores: TestCore[] = [];
  const clients: TestClient[] = [];
  const socks: TestUdp[] = [];
  const saved = process.env.REFLECTOR_MEDIA_WORKERS;

  afterEach(async () => {
    await Promise.all(cores.splice(0).map((c) => c.close()));
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await closeAll(socks.splice(0));
    if (saved === undefined) delete process.env.REFLECTOR_MEDIA_WORKERS;
    else process.env.REFLECTOR_MEDIA_WORKERS = saved;
  });

  async function start(workers: number, audioPort = AUDIO): Promise<TestCore> {
    delete process.env.REFLECTOR_MEDIA_WORKERS; // the keyword decides here, not the suite's run
    process.env.REFLECTOR_IO = 'mmsg';
    const core = createReflectorCore({
      config: coreConfig(CORE_IP, { audioPort, videoPort: audioPort + 2, mediaWorkers: workers, keepalivePorts: { first: audioPort + 4, last: audioPort + 7 }, checkipPort: audioPort + 8 }),
      logger: silentLogger(),
    });
    try {
      await core.start();
    } finally {
      delete process.env.REFLECTOR_IO;
    }
    cores.push(core);
    return core;
  }

  it('spreads the sources over two threads and delivers exactly what one thread does', async () => {
    expect(loadMmsgAddon().addon, 'the addon is built').to.not.equal(null);
    const core = await start(2);
    expect(core.mediaWorkers()).to.equal(2);
    expect(socketsOnPort(AUDIO), 'sockets on the audio RTP port').to.equal(2);
    // 0..13 in a plain session; 14, 15 with PT rewrite (opus 96 ↔ 111 / 100): JS on the main thread.
    for (let i = 0; i < MEMBERS; i++) {
      const c = await TestClient.create(`127.0.15.${10 + i}`);
      // The clients share this process's main thread while the worker thread sends: room for all.
      c.rtp.socket.setRecvBufferSize(CLIENT_RCVBUF);
      clients.push(c);
    }
    for (let i = 0; i < MEMBERS - 2; i++) clients[i].join(core, 'plain');
    clients[14].join(core, 'rewrite', [clients[14].stream({ codecs: [codec('opus', 96, 111, 48000)] })]);
    clients[15].join(core, 'rewrite', [clients[15].stream({ codecs: [codec('opus', 96, 100, 48000)] })]);
    const pt = (i: number): number => (i === 14 ? 111 : i === 15 ? 100 : 0);
    const sent: Buffer[][] = clients.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < MEMBERS; i++) {
        const b = rtpPacket(0x5000 + i, 1000 + r, pt(i), Buffer.from(`member ${i} round ${r}`));
        sent[i].push(b);
        sends.push(new Promise<void>((resolve) => clients[i].rtp.socket.send(b, AUDIO, CORE_IP, () => resolve())));
      }
      await Promise.all(sends);
      if (r === 0) await new Promise((r2) => setTimeout(r2, 100)); // latching first
    }
    const plainWant = (MEMBERS - 3) * ROUNDS;
    try {
      await waitUntil(() => clients.slice(0, 14).every((c) => c.rtp.all.length >= plainWant) && clients[14].rtp.all.length >= ROUNDS && clients[15].rtp.all.length >= ROUNDS, 10_000, 'all copies');
    } catch (err) {
      throw new Error(`${String(err)}: copies per member ${JSON.stringify(clients.map((c) => c.rtp.all.length))}, per thread ${JSON.stringify(core.mediaLaneStats())}, drops ${JSON.stringify(core.drops())}`);
    }
    await new Promise((r) => setTimeout(r, 200)); // nothing more (no duplicates)
    for (let i = 0; i < 14; i++) {
      const got = clients[i].rtp.all.map((m) => m.msg);
      expect(got.length, `copies at member ${i}`).to.equal(plainWant);
      // Per source: every datagram once, intact, in the order sent.
      for (let j = 0; j < 14; j++) {
        if (j === i) continue;
        const from = got.filter((m) => m.readUInt32BE(8) === 0x5000 + j).map((m) => m.toString('hex'));
        expect(from, `member ${i} from ${j}`).to.deep.equal(sent[j].map((b) => b.toString('hex')));
      }
    }
    // The rewrite pair: each got the other's datagrams, in order, in its own PT.
    for (const [to, from] of [[14, 15], [15, 14]] as const) {
      const got = clients[to].rtp.all.map((m) => m.msg);
      expect(got.map((m) => m.readUInt16BE(2)), `sequence at ${to}`).to.deep.equal(sent[from].map((_, r) => 1000 + r));
      expect(got.every((m) => (m[1] & 0x7f) === pt(to)), `PT at ${to}`).to.equal(true);
    }
    // Both threads carried part of it (16 sources: all on one socket has odds of 1 in 32768).
    const lanes = core.mediaLaneStats()[0];
    expect(lanes, 'datagrams per thread on the audio RTP port').to.have.length(2);
    expect(lanes.every((n) => n > 0), `datagrams per thread: ${JSON.stringify(lanes)}`).to.equal(true);
    expect(lanes[0] + lanes[1]).to.equal(MEMBERS * ROUNDS);
    // Counters complete: what the worker fanned out is merged into the participants' counters.
    const snap = core.snapshot().flatMap((s) => s.participants);
    for (let i = 0; i < MEMBERS; i++) {
      const c = snap.find((p) => p.id === clients[i].id)?.streams[0]?.counters;
      expect(c?.rtpPacketsIn, `packets in from ${i}`).to.equal(ROUNDS);
      expect(c?.rtpPacketsOut, `packets out to ${i}`).to.equal(i < 14 ? plainWant : ROUNDS);
    }
    expect(core.drops().send_error ?? 0).to.equal(0);
    await core.close();
    cores.splice(0);
    expect(socketsOnPort(AUDIO), 'sockets left after close').to.equal(0);
  });

  it('a port in use is refused (EADDRINUSE), also by a second reflector with workers', async () => {
    const busy = await bindUdp(CORE_IP, AUDIO + 20);
    socks.push(busy);
    let err: unknown = null;
    try {
      await start(2, AUDIO + 20);
    } catch (e) {
      err = e;
    }
    expect((err as NodeJS.ErrnoException | null)?.code, String(err)).to.equal('EADDRINUSE');
    await start(2, AUDIO + 40);
    err = null;
    try {
      await start(2, AUDIO + 40);
    } catch (e) {
      err = e;
    }
    expect((err as NodeJS.ErrnoException | null)?.code, String(err)).to.equal('EADDRINUSE');
    expect(socketsOnPort(AUDIO + 40), 'only the first reflector\'s two sockets').to.equal(2);
  });

  it('MEDIA_WORKERS 1 opens one socket per port, as before', async () => {
    const core = await start(1, AUDIO + 60);
    expect(core.mediaWorkers()).to.equal(1);
    expect(socketsOnPort(AUDIO + 60)).to.equal(1);
    expect(core.mediaLaneStats()[0]).to.have.length(1);
  });
});
