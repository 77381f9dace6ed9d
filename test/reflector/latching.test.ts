import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { waitUntil } from '../helpers/wait.js';
import { rtpPacket, startCore, WAIT_MS, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.1.3';
const AUDIO = 5566;

describe('reflector core: latching and anti-amplification', () => {
  let core: TestCore | null = null;
  const { client, sock } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('follows NAT rebinding to a new port on the same IP when the packet carries the known SSRC', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.140');
    const b = await client('127.0.1.141');
    a.join(core, 'nat');
    b.join(core, 'nat');
    await a.rtp.send(rtpPacket(0xaa01, 1), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(1);
    // The NAT gives a new port on the same IP; the SSRC (learned from latched media) is the same.
    const rebound = await sock('127.0.1.140');
    await rebound.send(rtpPacket(0xaa01, 2), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(2);
    // Media for a now goes to the new port.
    await b.rtp.send(rtpPacket(0xbb01, 7), AUDIO, CORE_IP);
    const got = await rebound.nextMessage(WAIT_MS);
    expect(got.msg.readUInt32BE(8)).to.equal(0xbb01);
    const snap = core.snapshot()[0].participants.find((p) => p.id === a.id);
    expect(snap?.streams[0].rtpSource).to.equal(`127.0.1.140:${rebound.port}`);
  });

  it('never latches a known SSRC from another IP', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.142');
    const b = await client('127.0.1.143');
    a.join(core, 'nat2');
    b.join(core, 'nat2');
    await a.rtp.send(rtpPacket(0xaa02, 1), AUDIO, CORE_IP);
    await b.rtp.nextMessage(WAIT_MS);
    const thief = await sock('127.0.1.144');
    await thief.send(rtpPacket(0xaa02, 2), AUDIO, CORE_IP);
    const c = core;
    await waitUntil(() => (c.drops().foreign_ip ?? 0) >= 1, WAIT_MS, 'foreign_ip drop');
    // a is still latched where it was, and b got nothing from the thief.
    await a.rtp.send(rtpPacket(0xaa02, 3), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(3);
    expect(b.rtp.all).to.have.length(2);
    await b.rtp.send(rtpPacket(0xbb02, 1), AUDIO, CORE_IP);
    await a.rtp.nextMessage(WAIT_MS);
    expect(thief.all).to.have.length(0);
  });

  it('sends nothing to a forged SDP address until a packet from it proves it', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.145');
    const b = await client('127.0.1.146');
    const victim = await client('127.0.1.147');
    a.join(core, 'forged');
    b.join(core, 'forged');
    // f signals from .148 (its ACK comes from there) but names the victim's sockets in c=/m=.
    const fId = core.join({ session: 'forged', signalingAddress: '127.0.1.148', mode: 'reflect', streams: [victim.stream()] });
    core.confirmAddress(fId, '127.0.1.148');
    expect(core.sendTo(fId, 'audio', true, Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]))).to.equal(false);
    for (let seq = 1; seq <= 3; seq++) {
      await a.rtp.send(rtpPacket(0xaa03, seq), AUDIO, CORE_IP);
      expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(seq);
    }
    const counters = (): number =>
      core?.snapshot()[0].participants.find((p) => p.id === fId)?.streams[0].counters.rtpPacketsOut ?? -1;
    expect(counters()).to.equal(0);
    expect(victim.rtp.all).to.have.length(0);
    // A packet from exactly the SDP address and port proves return-routability (and latches).
    await victim.rtp.send(rtpPacket(0xf0f0, 1), AUDIO, CORE_IP);
    await a.rtp.nextMessage(WAIT_MS);
    await a.rtp.send(rtpPacket(0xaa03, 4), AUDIO, CORE_IP);
    const got = await victim.rtp.nextMessage(WAIT_MS);
    expect(got.msg.readUInt16BE(2)).to.equal(4);
    expect(counters()).to.equal(1);
  });

  it('latches by announced SSRC from the signalling IP, and refuses to guess between two waiting participants', async () => {
    ({ core } = await startCore(CORE_IP));
    const listener = await client('127.0.1.149');
    listener.join(core, 'ssrc');
    // Two participants behind one NAT IP; their SDP names private addresses they do not send from.
    const nat = '127.0.1.150';
    const p1 = core.join({
      session: 'ssrc', signalingAddress: nat, mode: 'reflect',
      streams: [{ medium: 'audio', address: '10.0.0.1', rtpPort: 4000, rtcpPort: 4001, direction: 'sendrecv', ssrcs: [0x1111], codecs: [{ canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 }] }],
    });
    const p2 = core.join({
      session: 'ssrc', signalingAddress: nat, mode: 'reflect',
      streams: [{ medium: 'audio', address: '10.0.0.2', rtpPort: 4000, rtcpPort: 4001, direction: 'sendrecv', ssrcs: [], codecs: [{ canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 }] }],
    });
    const s1 = await sock(nat);
    const s2 = await sock(nat);
    // Unknown SSRC while both wait: ambiguous, dropped.
    await s2.send(rtpPacket(0x2222, 1), AUDIO, CORE_IP);
    const c = core;
    await waitUntil(() => (c.drops().ambiguous_source ?? 0) >= 1, WAIT_MS, 'ambiguous_source drop');
    // The announced SSRC picks p1.
    await s1.send(rtpPacket(0x1111, 1), AUDIO, CORE_IP);
    expect((await listener.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x1111);
    // Now p2 is the only one waiting from that IP.
    await s2.send(rtpPacket(0x2222, 2), AUDIO, CORE_IP);
    expect((await listener.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x2222);
    const snap = core.snapshot()[0].participants;
    expect(snap.find((p) => p.id === p1)?.streams[0].rtpSource).to.equal(`${nat}:${s1.port}`);
    expect(snap.find((p) => p.id === p2)?.streams[0].rtpSource).to.equal(`${nat}:${s2.port}`);
    // Their latched sources now receive the listener's media; the private SDP addresses never did.
    await listener.rtp.send(rtpPacket(0x3333, 1), AUDIO, CORE_IP);
    // p1 first got p2's packet (p1 was latched by then), then the listener's.
    expect((await s1.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x2222);
    expect((await s1.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x3333);
    expect((await s2.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x3333);
    expect(s2.all.map((r) => r.msg.readUInt32BE(8))).to.deep.equal([0x3333]);
  });

  it('does not send to a participant whose direction does not receive, and does not forward RTP it should not send', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.151');
    const held = await client('127.0.1.152');
    const b = await client('127.0.1.153');
    a.join(core, 'dir');
    held.join(core, 'dir', [held.stream({ direction: 'inactive' })]);
    b.join(core, 'dir');
    await held.rtp.send(rtpPacket(0x4444, 1), AUDIO, CORE_IP);
    await a.rtp.send(rtpPacket(0xaa05, 1), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xaa05);
    // held's packet may be read by another media thread than a's: wait for its drop, then check b got only a's.
    const c = core;
    await waitUntil(() => (c.drops().not_sending ?? 0) >= 1, WAIT_MS, 'not_sending drop');
    expect(c.drops().not_sending).to.equal(1);
    expect(b.rtp.all).to.have.length(1);
    // Back from hold (re-INVITE): it receives again.
    core.update(held.id, [held.stream({ direction: 'sendrecv' })]);
    await a.rtp.send(rtpPacket(0xaa05, 2), AUDIO, CORE_IP);
    expect((await held.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(2);
    expect(held.rtp.all).to.have.length(1);
  });

  it('drops media from a source HOSTS_DENY refuses, unless HOSTS_ALLOW allows it', async () => {
    ({ core } = await startCore(CORE_IP, {
      hostsDeny: [{ family: 4, address: '127.0.1.152', prefix: 30 }],
      hostsAllow: [{ family: 4, address: '127.0.1.155', prefix: 32 }],
    }));
    const denied = await client('127.0.1.154');
    const allowed = await client('127.0.1.155');
    const b = await client('127.0.1.156');
    denied.join(core, 'hosts');
    allowed.join(core, 'hosts');
    b.join(core, 'hosts');
    await denied.rtp.send(rtpPacket(0xd1, 1), AUDIO, CORE_IP);
    await allowed.rtp.send(rtpPacket(0xa1, 1), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xa1);
    const c = core;
    await waitUntil(() => c.drops().host_denied === 1, WAIT_MS, 'host_denied drop');
    expect(b.rtp.all).to.have.length(1);
  });

  it('never latches its own sockets, even when a c= line names them', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.157');
    a.join(core, 'self');
    // A participant whose SDP names the reflector's own audio ports, "confirmed" by an ACK from there.
    const selfId = core.join({
      session: 'self', signalingAddress: CORE_IP, mode: 'reflect',
      streams: [{ medium: 'audio', address: CORE_IP, rtpPort: AUDIO, rtcpPort: AUDIO + 1, direction: 'sendrecv', ssrcs: [], codecs: [{ canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 }] }],
    });
    core.confirmAddress(selfId, CORE_IP);
    for (let seq = 1; seq <= 3; seq++) await a.rtp.send(rtpPacket(0xaa07, seq), AUDIO, CORE_IP);
    const c = core;
    await waitUntil(() => (c.drops().own_source ?? 0) >= 3, WAIT_MS, 'own_source drops');
    const snap = core.snapshot()[0].participants.find((p) => p.id === selfId);
    expect(snap?.streams[0].rtpSource).to.equal(undefined);
    expect(snap?.streams[0].counters.rtpPacketsIn).to.equal(0);
    expect(a.rtp.all).to.have.length(0);
  });
});
