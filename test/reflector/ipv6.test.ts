import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { rtcpRr, rtpPacket, startCore, TestClient, WAIT_MS, type TestCore } from './fixture.js';

// IPv6 and dual-stack cores cannot have a loopback address of their own, so they use
// unusual ports instead of the defaults.
const PORTS = {
  audioPort: 41566,
  videoPort: 41568,
  keepalivePorts: { first: 41570, last: 41573 },
  checkipPort: 41340,
};

describe('reflector core: IPv6 and dual stack', () => {
  let core: TestCore | null = null;
  const clients: TestClient[] = [];

  afterEach(async () => {
    await core?.close();
    core = null;
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('reflects between IPv6 participants on an IPv6 listen address', async () => {
    ({ core } = await startCore('::1', PORTS));
    const a = await TestClient.create('::1');
    const b = await TestClient.create('::1');
    clients.push(a, b);
    a.join(core, 'v6');
    b.join(core, 'v6');
    await a.rtp.send(rtpPacket(0x6a, 1), PORTS.audioPort, '::1');
    await a.rtcp.send(rtcpRr(0x6a), PORTS.audioPort + 1, '::1');
    const got = await b.rtp.nextMessage(WAIT_MS);
    expect(got.msg.readUInt32BE(8)).to.equal(0x6a);
    expect(got.rinfo.port).to.equal(PORTS.audioPort);
    expect((await b.rtcp.nextMessage(WAIT_MS)).msg.readUInt32BE(4)).to.equal(0x6a);
    const snap = core.snapshot()[0].participants.find((p) => p.id === a.id);
    expect(snap?.streams[0].rtpSource).to.equal(`[::1]:${a.rtp.port}`);
  });

  it('serves IPv4 participants on a dual-stack wildcard listen address, also before they latch', async () => {
    ({ core } = await startCore('::', { ...PORTS, audioPort: 41666, videoPort: 41668, keepalivePorts: { first: 41670, last: 41673 }, checkipPort: 41341 }));
    const a = await TestClient.create('127.0.1.210');
    const b = await TestClient.create('127.0.1.211');
    clients.push(a, b);
    a.join(core, 'ds');
    b.join(core, 'ds');
    // b has sent nothing: it gets a's media at its (ACK-proven) SDP address, an IPv4 address
    // sent to from the IPv6 socket.
    await a.rtp.send(rtpPacket(0x4a, 1), 41666, '127.0.1.210');
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x4a);
    await b.rtp.send(rtpPacket(0x4b, 1), 41666, '127.0.1.210');
    expect((await a.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x4b);
    const snap = core.snapshot()[0].participants.find((p) => p.id === b.id);
    expect(snap?.streams[0].rtpSource).to.equal(`127.0.1.211:${b.rtp.port}`);
  });
});
