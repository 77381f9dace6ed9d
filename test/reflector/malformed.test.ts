import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { KeepaliveResponder } from '../../src/reflector/keepalive.js';
import { RtcpInspection, RtcpInspector } from '../../src/reflector/rtcp-inspector.js';
import { encodeStunBindingRequest } from '../../src/rtp/stun.js';
import { forEachFuzzInput } from '../rtp/fuzz.js';
import { bindUdp, closeAll, type TestUdp } from '../helpers/udp.js';
import { waitUntil } from '../helpers/wait.js';
import { rtcpBye, rtcpRr, rtpPacket, startCore, TestClient, WAIT_MS, type TestCore } from './fixture.js';

const CORE_IP = '127.0.1.7';
const PORTS = [5566, 5567, 5568, 5569, 5570, 5571, 5572, 5573];
const DATAGRAMS = 4000;
const SEED = 0x5eed;

function rflxApp(): Buffer {
  // RTCP APP, subtype 1, SSRC 0xa, name RFLX, TLV REQUEST_ID (22) = 7, padded.
  const b = Buffer.from([0x81, 204, 0, 4, 0, 0, 0, 0x0a, 0x52, 0x46, 0x4c, 0x58, 22, 0, 4, 0, 0, 0, 7, 0]);
  return b;
}

const SEEDS: Buffer[] = [
  rtpPacket(0x0a, 1),
  rtpPacket(0x0a, 2, 0, Buffer.alloc(160, 0xff)),
  Buffer.from([0xb0, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0x0a, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, 1, 2, 3, 4, 0, 0, 0, 4]),
  Buffer.concat([rtcpRr(0x0a), rtcpBye([0x0b])]),
  rflxApp(),
  encodeStunBindingRequest(Buffer.alloc(12, 3)),
];

describe('reflector core: malformed input', () => {
  let core: TestCore | null = null;
  const clients: TestClient[] = [];
  const socks: TestUdp[] = [];

  afterEach(async () => {
    await core?.close();
    core = null;
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await closeAll(socks.splice(0));
  });

  it('inspects random RTCP and keep-alive input without throwing', () => {
    const inspector = new RtcpInspector();
    const out = new RtcpInspection();
    const ka = new KeepaliveResponder();
    let bad = 0;
    forEachFuzzInput(SEED, 20_000, SEEDS, (buf) => {
      inspector.inspect(buf, out);
      if (out.drop !== null) bad++;
      expect(out.byeCount).to.be.at.most(64);
      if (ka.classify(buf) === 'stun') ka.stunAnswer(buf, '127.0.0.1', 4000);
    });
    expect(bad).to.be.greaterThan(0);
  });

  it('survives thousands of malformed datagrams on every port, counts them, and keeps serving', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await TestClient.create('127.0.1.185');
    const b = await TestClient.create('127.0.1.186');
    clients.push(a, b);
    a.join(core, 'fuzz', [a.stream({ ssrcs: [0x0a] })]);
    b.join(core, 'fuzz', [b.stream({ ssrcs: [0x0b] })]);
    const stranger = await bindUdp('127.0.1.187');
    socks.push(stranger);
    // Latch a's RTP and RTCP sources first, so fuzz from them goes deep into the handlers.
    await a.rtp.send(rtpPacket(0x0a, 1), 5566, CORE_IP);
    await a.rtcp.send(rtcpRr(0x0a), 5567, CORE_IP);
    await b.rtp.nextMessage(WAIT_MS);
    await b.rtcp.nextMessage(WAIT_MS);

    const senders = [a.rtp, a.rtcp, stranger];
    let i = 0;
    const inputs: Buffer[] = [];
    forEachFuzzInput(SEED, DATAGRAMS, SEEDS, (buf) => inputs.push(buf));
    for (const buf of inputs) {
      const port = PORTS[i % PORTS.length];
      const from = senders[i % senders.length];
      i++;
      await from.send(buf, port, CORE_IP);
    }
    const c = core;
    await waitUntil(() => {
      const d = c.drops();
      const total = Object.values(d).reduce((s, v) => s + v, 0);
      return total >= DATAGRAMS / 4;
    }, 10_000, 'drops counted');
    const d = core.drops();
    expect(d.internal_error).to.equal(0);
    expect(d.unknown_source).to.be.greaterThan(0);
    expect(d.keepalive_unknown).to.be.greaterThan(0);
    expect(Object.keys(d).some((k) => k.startsWith('rtp_'))).to.equal(true);
    expect(Object.keys(d).some((k) => k.startsWith('rtcp_'))).to.equal(true);
    expect(core.has(a.id) && core.has(b.id)).to.equal(true);

    // Barriers: each socket of the core handles its datagrams in order, so once a marker sent
    // after the fuzz comes back from a port, everything before it on that port was handled.
    // (Fuzz from a's RTCP socket with a's SSRC legitimately moves a's RTP latch there: NAT
    // rebinding on the same IP; the markers below move it back.)
    for (const port of [5570, 5571, 5572, 5573]) {
      await stranger.send(encodeStunBindingRequest(Buffer.alloc(12, port & 0xff)), port, CORE_IP);
      await stranger.nextMatching((r) => r.rinfo.port === port && r.msg.length >= 20 && r.msg[19] === (port & 0xff), 10_000);
    }
    await a.rtcp.send(rtcpRr(0x0a0a), 5567, CORE_IP);
    await b.rtcp.nextMatching((r) => r.msg.length >= 8 && r.msg.readUInt32BE(4) === 0x0a0a, 10_000);
    // Still serving valid traffic both ways.
    await a.rtp.send(rtpPacket(0x0a, 0xfff0), 5566, CORE_IP);
    await b.rtp.nextMatching((r) => r.msg.length >= 12 && r.msg.readUInt16BE(2) === 0xfff0 && r.msg.readUInt32BE(8) === 0x0a, 10_000);
    await b.rtp.send(rtpPacket(0x0b, 0xfff1), 5566, CORE_IP);
    await a.rtp.nextMatching((r) => r.msg.length >= 12 && r.msg.readUInt16BE(2) === 0xfff1 && r.msg.readUInt32BE(8) === 0x0b, 10_000);
    // The stranger never received media (only keep-alive answers).
    expect(stranger.all.every((r) => r.rinfo.port >= 5570)).to.equal(true);
    expect(core.drops().internal_error).to.equal(0);
  });
});
