import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { waitUntil } from '../helpers/wait.js';
import { withTimeout } from '../helpers/udp.js';
import { rtcpBye, rtcpRr, rtpPacket, startCore, WAIT_MS, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.1.1';
const AUDIO = 5566;

describe('reflector core: fan-out', () => {
  let core: TestCore | null = null;
  const { client } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('reflects RTP and RTCP of each of three participants to the two others, never back to the sender', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.101');
    const b = await client('127.0.1.102');
    const c = await client('127.0.1.103');
    for (const x of [a, b, c]) x.join(core, 'weekly');
    const all = [a, b, c];
    for (const [i, sender] of all.entries()) {
      const ssrc = 0x1000 + i;
      await sender.rtp.send(rtpPacket(ssrc, i), AUDIO, CORE_IP);
      await sender.rtcp.send(rtcpRr(ssrc), AUDIO + 1, CORE_IP);
      for (const r of all) {
        if (r === sender) continue;
        const got = await r.rtp.nextMessage(WAIT_MS);
        expect(got.msg.readUInt32BE(8)).to.equal(ssrc);
        expect(got.rinfo.port).to.equal(AUDIO, 'symmetric: RTP comes from AUDIO_PORT');
        const gotRtcp = await r.rtcp.nextMessage(WAIT_MS);
        expect(gotRtcp.msg.readUInt32BE(4)).to.equal(ssrc);
        expect(gotRtcp.rinfo.port).to.equal(AUDIO + 1, 'RTCP comes from AUDIO_PORT+1');
      }
    }
    // Nobody got anything else (its own packets would have arrived before the later ones).
    for (const x of all) {
      expect(x.rtp.all).to.have.length(2);
      expect(x.rtcp.all).to.have.length(2);
      for (const r of [...x.rtp.all, ...x.rtcp.all]) expect(r.msg.readUInt32BE(r.msg[1] >= 200 ? 4 : 8)).to.not.equal(0x1000 + all.indexOf(x));
    }
    const snap = core.snapshot();
    expect(snap).to.have.length(1);
    const pa = snap[0].participants.find((p) => p.id === a.id);
    expect(pa?.streams[0].counters.rtpPacketsIn).to.equal(1);
    expect(pa?.streams[0].counters.rtpPacketsOut).to.equal(2);
    expect(pa?.streams[0].rtpSource).to.equal(`127.0.1.101:${a.rtp.port}`);
  });

  it('never leaks media between two sessions', async () => {
    ({ core } = await startCore(CORE_IP));
    const a1 = await client('127.0.1.111');
    const a2 = await client('127.0.1.112');
    const b1 = await client('127.0.1.113');
    const b2 = await client('127.0.1.114');
    a1.join(core, 'alpha');
    a2.join(core, 'alpha');
    b1.join(core, 'beta');
    b2.join(core, 'beta');
    await a1.rtp.send(rtpPacket(0xa1, 1), AUDIO, CORE_IP);
    await b1.rtp.send(rtpPacket(0xb1, 1), AUDIO, CORE_IP);
    expect((await a2.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xa1);
    expect((await b2.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xb1);
    // Marker from the other session proves ordering: a later packet arrives, the leak did not.
    await b2.rtp.send(rtpPacket(0xb2, 2), AUDIO, CORE_IP);
    await a2.rtp.send(rtpPacket(0xa2, 2), AUDIO, CORE_IP);
    expect((await b1.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xb2);
    expect((await a1.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xa2);
    expect(a1.rtp.all.map((r) => r.msg.readUInt32BE(8))).to.deep.equal([0xa2]);
    expect(a2.rtp.all.map((r) => r.msg.readUInt32BE(8))).to.deep.equal([0xa1]);
    expect(b1.rtp.all.map((r) => r.msg.readUInt32BE(8))).to.deep.equal([0xb2]);
    expect(b2.rtp.all.map((r) => r.msg.readUInt32BE(8))).to.deep.equal([0xb1]);
    expect([...core.sessionNames()].sort()).to.deep.equal(['alpha', 'beta']);
  });

  it('drops and counts datagrams from a source no participant owns', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.121');
    const b = await client('127.0.1.122');
    const stranger = await client('127.0.1.123');
    a.join(core, 'room');
    b.join(core, 'room');
    await stranger.rtp.send(rtpPacket(0x5555, 1), AUDIO, CORE_IP);
    await stranger.rtcp.send(rtcpRr(0x5555), AUDIO + 1, CORE_IP);
    const c = core;
    await waitUntil(() => (c.drops().unknown_source ?? 0) >= 2, WAIT_MS, 'unknown_source drops');
    // Still serving: a's packet reaches b, and b received nothing from the stranger before it.
    await a.rtp.send(rtpPacket(0xaaaa, 1), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xaaaa);
    expect(b.rtp.all).to.have.length(1);
    expect(b.rtcp.all).to.have.length(0);
  });

  it('handles RTCP multiplexed on the RTP port (RFC 5761): sent to each receiver as it negotiated (mux: RTP port, else RTCP port), read for BYE', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.124');
    const b = await client('127.0.1.125');
    const c = await client('127.0.1.126');
    a.join(core, 'mux', [{ ...a.stream({ ssrcs: [0xa], rtcpPort: a.rtp.port }), rtcpMux: true }]);
    b.join(core, 'mux', [{ ...b.stream({ rtcpPort: b.rtp.port }), rtcpMux: true }]);
    c.join(core, 'mux');
    await a.rtp.send(rtcpRr(0xa), AUDIO, CORE_IP);
    const got = await b.rtp.nextMessage(WAIT_MS);
    expect(got.msg).to.deep.equal(rtcpRr(0xa));
    expect(got.rinfo.port).to.equal(AUDIO);
    const gotC = await c.rtcp.nextMessage(WAIT_MS);
    expect(gotC.msg).to.deep.equal(rtcpRr(0xa));
    expect(gotC.rinfo.port).to.equal(AUDIO + 1);
    // RTCP from the non-mux participant reaches the mux one on its RTP port, from our RTP port.
    await c.rtcp.send(rtcpRr(0xc), AUDIO + 1, CORE_IP);
    const back = await b.rtp.nextMessage(WAIT_MS);
    expect(back.msg).to.deep.equal(rtcpRr(0xc));
    expect(back.rinfo.port).to.equal(AUDIO);
    expect(c.rtp.all).to.have.length(0);
    const removed = new Promise<string>((resolve) => core?.events.once('participant-removed', (_id, _s, reason) => resolve(reason)));
    await a.rtp.send(rtcpBye([0xa]), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(203);
    expect(await withTimeout(removed, WAIT_MS, 'removal')).to.equal('rtcp_bye');
    const d = core.drops();
    expect(Object.keys(d).filter((k) => k.startsWith('rtp_') && d[k] > 0)).to.deep.equal([]);
  });
});
