/**
 * The firewall pair in one process with the REAL reflector core (SPEC §5–§6):
 * R1 on 127.0.3.12, R2 on 127.0.3.13, same ports, peers of each other; UDP
 * clients on their own loopback addresses joined through the core's API (as
 * the SIP front end does). A client's RTP and RTCP reach the participants of
 * the other reflector, from that reflector's media ports, unchanged.
 */
import { expect } from 'chai';
import { rtcpRr, rtpPacket, useTestClients, WAIT_MS } from '../reflector/fixture.js';
import { waitUntil } from '../helpers/wait.js';
import { ip, keyOf, startRealNode, type RealNode } from './harness.js';

const AUDIO = 5566;
const VIDEO = 5568;

describe('interconnect with the real reflector core: firewall pair in one process', () => {
  let sides: RealNode[] = [];
  afterEach(async () => {
    for (const s of sides) await s.link.close();
    for (const s of sides) await s.core.close();
    sides = [];
  });
  // After the reflectors (afterEach hooks run in the order they are registered).
  const { client } = useTestClients();

  async function side(address: string, ...peers: string[]): Promise<RealNode> {
    const s = await startRealNode(address, { peers });
    sides.push(s);
    return s;
  }


  it('carries RTP and RTCP between participants of two reflectors, both ways', async () => {
    const r1 = await side(ip(12), ip(13));
    const r2 = await side(ip(13), ip(12));
    const ext = await client(ip(112));
    const int1 = await client(ip(113));
    const int2 = await client(ip(114));
    ext.join(r1.core, 'firewall pair');
    int1.join(r2.core, 'firewall pair');
    int2.join(r2.core, 'firewall pair');
    await waitUntil(() => r1.link.remoteCount('firewall pair') === 2 && r2.link.remoteCount('firewall pair') === 1, 5000, 'counts');

    await ext.rtp.send(rtpPacket(0xe1, 1), AUDIO, ip(12));
    for (const c of [int1, int2]) {
      const got = await c.rtp.nextMessage(WAIT_MS);
      expect(got.msg.readUInt32BE(8)).to.equal(0xe1);
      expect(got.rinfo.address).to.equal(ip(13));
      expect(got.rinfo.port).to.equal(AUDIO);
      expect(got.msg.equals(rtpPacket(0xe1, 1))).to.equal(true);
    }
    await ext.rtcp.send(rtcpRr(0xe1), AUDIO + 1, ip(12));
    for (const c of [int1, int2]) {
      const got = await c.rtcp.nextMessage(WAIT_MS);
      expect(got.msg.equals(rtcpRr(0xe1))).to.equal(true);
      expect(got.rinfo.port).to.equal(AUDIO + 1);
    }

    // Back the other way: ext gets int1's packet via R1; int2 gets it locally from R2.
    await int1.rtp.send(rtpPacket(0x11, 5), AUDIO, ip(13));
    const back = await ext.rtp.nextMessage(WAIT_MS);
    expect(back.msg.readUInt32BE(8)).to.equal(0x11);
    expect(back.rinfo.address).to.equal(ip(12));
    expect((await int2.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x11);
    // Nobody got an echo of their own packet or a duplicate.
    expect(ext.rtp.all).to.have.length(1);
    expect(int1.rtp.all).to.have.length(1);
    expect(int2.rtp.all).to.have.length(2);
    const p12 = r1.link.peers().find((p) => p.key === keyOf(ip(13)));
    expect(p12?.relayPacketsOut).to.equal(2);
    expect(p12?.relayPacketsIn).to.equal(1);
    expect(r1.link.drops()).to.deep.equal({});
    expect(r2.link.drops()).to.deep.equal({});
  });

  it('relays nothing while the other reflector has no participant of the session', async () => {
    const r1 = await side(ip(12), ip(13));
    const r2 = await side(ip(13), ip(12));
    const a = await client(ip(112));
    const b = await client(ip(113));
    a.join(r1.core, 'lonely');
    b.join(r1.core, 'lonely');
    await waitUntil(() => r2.link.remoteCount('lonely') === 2, 5000, 'R2 learns the count');
    await a.rtp.send(rtpPacket(0xa, 1), AUDIO, ip(12));
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xa);
    expect(r1.link.peers()[0].relayPacketsOut).to.equal(0);
    expect(r2.link.peers()[0].relayPacketsIn).to.equal(0);
  });

  it('relays video on the RTP relay port and its RTCP on the RTCP relay port', async () => {
    const r1 = await side(ip(12), ip(13));
    const r2 = await side(ip(13), ip(12));
    const a = await client(ip(112));
    const b = await client(ip(113));
    a.join(r1.core, 'video', [a.stream({ medium: 'video', codecs: [{ canonicalPt: 96, participantPt: 96, name: 'H264', clockRateHz: 90000, channels: 1 }] })]);
    b.join(r2.core, 'video', [b.stream({ medium: 'video', codecs: [{ canonicalPt: 96, participantPt: 96, name: 'H264', clockRateHz: 90000, channels: 1 }] })]);
    await waitUntil(() => r1.link.peersWithParticipants('video').length === 1 && r2.link.peersWithParticipants('video').length === 1, 5000, 'relay on');
    await a.rtp.send(rtpPacket(0xb0, 1, 96), VIDEO, ip(12));
    const got = await b.rtp.nextMessage(WAIT_MS);
    expect(got.msg.readUInt32BE(8)).to.equal(0xb0);
    expect(got.rinfo.port).to.equal(VIDEO);
    await a.rtcp.send(rtcpRr(0xb0), VIDEO + 1, ip(12));
    const gotRtcp = await b.rtcp.nextMessage(WAIT_MS);
    expect(gotRtcp.msg.equals(rtcpRr(0xb0))).to.equal(true);
    expect(gotRtcp.rinfo.port).to.equal(VIDEO + 1);
  });

  it('relays through a middle reflector that has no participant of the session (R2 – R1 – R3)', async () => {
    const r2 = await side(ip(12), ip(13));
    const r1 = await side(ip(13), ip(12), ip(14));
    const r3 = await side(ip(14), ip(13));
    const a = await client(ip(112));
    const c = await client(ip(114));
    a.join(r2.core, 'tree');
    c.join(r3.core, 'tree');
    await waitUntil(() => r2.link.peersWithParticipants('tree').length === 1 && r3.link.peersWithParticipants('tree').length === 1, 5000, 'relay on');
    expect(r1.core.sessionNames()).to.deep.equal([]);
    await a.rtp.send(rtpPacket(0xaa, 1), AUDIO, ip(12));
    const got = await c.rtp.nextMessage(WAIT_MS);
    expect(got.msg.equals(rtpPacket(0xaa, 1))).to.equal(true);
    expect(got.rinfo.address).to.equal(ip(14));
    await c.rtcp.send(rtcpRr(0xcc), AUDIO + 1, ip(14));
    expect((await a.rtcp.nextMessage(WAIT_MS)).msg.equals(rtcpRr(0xcc))).to.equal(true);
    // Split horizon at the middle: one datagram to each side, none back.
    const mid = r1.link.peers();
    expect(mid.map((p) => [p.key, p.relayPacketsIn, p.relayPacketsOut])).to.have.deep.members([
      [keyOf(ip(12)), 1, 1], [keyOf(ip(14)), 1, 1],
    ]);
    expect(a.rtp.all).to.have.length(0);
  });
});
