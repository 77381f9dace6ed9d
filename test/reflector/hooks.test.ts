import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import type { Medium, MixerPort, RelayPort, RflxHandler } from '../../src/reflector/api.js';
import { withTimeout } from '../helpers/udp.js';
import { waitUntil } from '../helpers/wait.js';
import { codec, PCMU, rtcpRr, rtpPacket, startCore, WAIT_MS, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.1.8';
const AUDIO = 5566;
const VIDEO = 5568;
const H264 = codec('H264', 96, 96, 90000);
const DTMF = codec('telephone-event', 101, 101);

interface Forwarded { session: string; medium: Medium; rtcp: boolean; packet: Buffer }

describe('reflector core: hooks (relay, mixer, RFLX, sendTo, events)', () => {
  let core: TestCore | null = null;
  const { client } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('gives every local datagram to the relay with canonical PT, and reflects relayed media to locals only', async () => {
    ({ core } = await startCore(CORE_IP));
    const forwarded: Forwarded[] = [];
    const relay: RelayPort = { forward: (session, medium, rtcp, packet) => { forwarded.push({ session, medium, rtcp, packet: Buffer.from(packet) }); } };
    core.setRelayPort(relay);
    const a = await client('127.0.1.190');
    const b = await client('127.0.1.191');
    a.join(core, 'relay', [a.stream({ codecs: [codec('opus', 96, 111, 48000)] })]);
    b.join(core, 'relay', [b.stream({ codecs: [codec('opus', 96, 96, 48000)] })]);
    await a.rtp.send(rtpPacket(0xa, 1, 111), AUDIO, CORE_IP);
    await a.rtcp.send(rtcpRr(0xa), AUDIO + 1, CORE_IP);
    await b.rtp.nextMessage(WAIT_MS);
    await b.rtcp.nextMessage(WAIT_MS);
    // RTP and RTCP arrive on two sockets: which the relay gets first is not defined (with
    // MEDIA_WORKERS > 1 the RTP one may wait on a worker's hand-over while the RTCP one is handled).
    expect(forwarded.map((f) => [f.session, f.medium, f.rtcp]).sort()).to.deep.equal([
      ['relay', 'audio', false],
      ['relay', 'audio', true],
    ]);
    expect((forwarded.find((f) => !f.rtcp)?.packet[1] ?? 0) & 0x7f).to.equal(96, 'relayed with the canonical PT');

    // From a peer: reflected to both locals (canonical → each one's PT), never back to the relay
    // (the interconnect relays peer to peer itself).
    forwarded.length = 0;
    core.injectRelayed('relay', 'audio', false, rtpPacket(0xee, 5, 96));
    expect((await a.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(111);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(96);
    core.injectRelayed('relay', 'audio', true, rtcpRr(0xee));
    expect((await a.rtcp.nextMessage(WAIT_MS)).msg.readUInt32BE(4)).to.equal(0xee);
    expect((await b.rtcp.nextMessage(WAIT_MS)).msg.readUInt32BE(4)).to.equal(0xee);
    // A session with no local participant: nothing to do here, and no session is created.
    core.injectRelayed('elsewhere', 'video', false, rtpPacket(0xef, 1, 96));
    expect(forwarded).to.deep.equal([]);
    expect(core.sessionNames()).to.deep.equal(['relay']);
  });

  it('feeds the mixer and stops reflecting audio and telephone-event (but not video) to mix participants', async () => {
    ({ core } = await startCore(CORE_IP));
    const rtpIn: [string, string | null, number, number][] = [];
    const rtcpIn: [string, string][] = [];
    const mixer: MixerPort = {
      onAudioRtp: (session, from, pt, packet) => rtpIn.push([session, from, pt, packet[1] & 0x7f]),
      onAudioRtcp: (session, from) => rtcpIn.push([session, from]),
    };
    const a = await client('127.0.1.192');
    const b = await client('127.0.1.193');
    const m = await client('127.0.1.194');
    const mVideo = await client('127.0.1.194');
    a.join(core, 'mix', [a.stream({ codecs: [{ ...PCMU }, { ...DTMF, participantPt: 100 }] }), a.stream({ medium: 'video', codecs: [H264], rtpPort: 9, rtcpPort: 10 })]);
    b.join(core, 'mix', [b.stream({ codecs: [PCMU, DTMF] })]);
    m.join(core, 'mix', [m.stream({ codecs: [PCMU, DTMF] }), mVideo.stream({ medium: 'video', codecs: [H264] })], { mode: 'mix' });
    core.setMixerPort(mixer);

    await a.rtp.send(rtpPacket(0xa, 1, 0), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(1);
    expect(rtpIn).to.deep.equal([['mix', a.id, 0, 0]]);
    // telephone-event (a's PT 100 = canonical 101) goes to the mixer (which regenerates it in m's
    // mixed stream) and to b in b's PT; the core does not forward it raw to m.
    await a.rtp.send(rtpPacket(0xa, 2, 100), AUDIO, CORE_IP);
    const dtmf = await b.rtp.nextMessage(WAIT_MS);
    expect(dtmf.msg.readUInt16BE(2)).to.equal(2);
    expect(dtmf.msg[1] & 0x7f).to.equal(101);
    expect(rtpIn.at(-1)).to.deep.equal(['mix', a.id, 101, 101]);
    expect(m.rtp.all).to.have.length(0, 'neither the PCMU packet nor the telephone-event was reflected to m');
    // Audio RTCP: reflected to b, not to m, and given to the mixer.
    await a.rtcp.send(rtcpRr(0xa), AUDIO + 1, CORE_IP);
    await b.rtcp.nextMessage(WAIT_MS);
    expect(rtcpIn).to.deep.equal([['mix', a.id]]);
    // m's own audio is still reflected raw to the reflect participants.
    await m.rtp.send(rtpPacket(0x3, 9, 0), AUDIO, CORE_IP);
    expect((await a.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x3);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x3);
    expect(rtpIn.at(-1)).to.deep.equal(['mix', m.id, 0, 0]);
    // Video is always reflected, also to m.
    const aVideo = await client('127.0.1.192');
    core.update(a.id, [a.stream({ codecs: [PCMU, { ...DTMF, participantPt: 100 }] }), aVideo.stream({ medium: 'video', codecs: [H264] })]);
    await aVideo.rtp.send(rtpPacket(0x7, 1, 96), VIDEO, CORE_IP);
    expect((await mVideo.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0x7);
    // Without the mixer, m gets audio reflected again.
    core.setMixerPort(null);
    await a.rtp.send(rtpPacket(0xa, 3, 0), AUDIO, CORE_IP);
    expect((await m.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(3);
    expect(m.rtcp.all).to.have.length(0);
  });

  it('hands RFLX APP requests to the handler and does not forward them', async () => {
    ({ core } = await startCore(CORE_IP));
    const got: [string, string, Buffer][] = [];
    const handler: RflxHandler = { onParticipantRflx: (id, session, app) => got.push([id, session, Buffer.from(app)]) };
    core.setRflxHandler(handler);
    const a = await client('127.0.1.195');
    const b = await client('127.0.1.196');
    a.join(core, 'rflx');
    b.join(core, 'rflx');
    const app = Buffer.from([0x81, 204, 0, 4, 0, 0, 0, 0x0a, 0x52, 0x46, 0x4c, 0x58, 22, 0, 4, 0, 0, 0, 7, 0]);
    await a.rtcp.send(app, AUDIO + 1, CORE_IP);
    await a.rtcp.send(Buffer.concat([rtcpRr(0x0a), app]), AUDIO + 1, CORE_IP);
    await a.rtcp.send(rtcpRr(0x0b), AUDIO + 1, CORE_IP);
    // The plain RR arrives and is the only thing b got.
    expect((await b.rtcp.nextMessage(WAIT_MS)).msg.readUInt32BE(4)).to.equal(0x0b);
    expect(b.rtcp.all).to.have.length(1);
    expect(got.map(([id, s, buf]) => [id, s, buf.toString('hex')])).to.deep.equal([
      [a.id, 'rflx', app.toString('hex')],
      [a.id, 'rflx', app.toString('hex')],
    ]);
    expect(core.counters().rflx_consumed).to.equal(2);
    expect(core.drops().rflx_consumed, 'a consumed RFLX request is not a drop').to.equal(undefined);
  });

  it('sendTo reaches only a permitted address, and rtcp-latched fires when the RTCP address becomes known', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.197');
    const latched: string[] = [];
    core.events.on('rtcp-latched', (id) => latched.push(id));
    a.join(core, 'send', [a.stream()], {}, null);
    const announce = Buffer.from([0x83, 204, 0, 2, 0, 0, 0, 0, 0x52, 0x46, 0x4c, 0x58]);
    expect(core.sendTo(a.id, 'audio', true, announce)).to.equal(false);
    expect(core.sendTo('nobody', 'audio', true, announce)).to.equal(false);
    const seen = withTimeout(new Promise<void>((resolve) => core?.events.once('rtcp-latched', () => resolve())), WAIT_MS, 'rtcp-latched');
    await a.rtcp.send(rtcpRr(0x1), AUDIO + 1, CORE_IP);
    await seen;
    expect(latched).to.deep.equal([a.id]);
    expect(core.sendTo(a.id, 'audio', true, announce)).to.equal(true);
    const got = await a.rtcp.nextMessage(WAIT_MS);
    expect(got.rinfo.port).to.equal(AUDIO + 1);
    expect(got.msg).to.deep.equal(announce);
    expect(core.sendTo(a.id, 'video', false, announce)).to.equal(false);
    const c = core;
    await waitUntil(() => c.snapshot()[0].participants[0].streams[0].counters.rtcpPacketsOut === 1, WAIT_MS, 'out counter');
  });

  it('keeps reflecting when the relay or the mixer hook throws', async () => {
    ({ core } = await startCore(CORE_IP));
    core.setRelayPort({ forward: () => { throw new Error('relay bug'); } });
    core.setMixerPort({ onAudioRtp: () => { throw new Error('mixer bug'); }, onAudioRtcp: () => undefined });
    const a = await client('127.0.1.198');
    const b = await client('127.0.1.199');
    const m = await client('127.0.1.189');
    a.join(core, 'bugs');
    b.join(core, 'bugs');
    m.join(core, 'bugs', [m.stream()], { mode: 'mix' });
    for (let seq = 1; seq <= 3; seq++) {
      await a.rtp.send(rtpPacket(0xa, seq), AUDIO, CORE_IP);
      expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt16BE(2)).to.equal(seq);
    }
    expect(core.drops().hook_error).to.equal(6);
    expect(core.drops().internal_error).to.equal(0);
  });
});
