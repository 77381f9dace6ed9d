/**
 * ICE-lite connectivity checks on the media ports (SPEC §16), in-process core with
 * real UDP sockets: a check from a "relay" address (as a TURN server's relayed
 * address would be) is answered with integrity; a nominated one latches the
 * stream there; bad, unauthenticated or unknown STUN is dropped, counted, never
 * answered and never latches.
 */
import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { randomBytes } from 'node:crypto';
import type { IceCredentials } from '../../src/reflector/api.js';
import {
  crc32,
  encodeIceCheck,
  parseStun,
  readStunAttributes,
  readXorMappedAddress,
  StunAttributes,
  stunFingerprintOk,
  stunIntegrityOk,
  StunMessage,
  STUN_BINDING_SUCCESS,
} from '../../src/rtp/stun.js';
import { waitUntil } from '../helpers/wait.js';
import { withTimeout } from '../helpers/udp.js';
import type { TestUdp } from '../helpers/udp.js';
import { rtcpRr, rtpPacket, startCore, WAIT_MS, type TestCore, useTestClients, type TestClient } from './fixture.js';

const CORE_IP = '127.0.70.1';
const AUDIO = 5566;
const ICE: IceCredentials = { ufrag: 'Rf1x', pwd: 'reflectorPasswordOf24ch', remoteUfrag: 'cLnT' };
const QUIET_MS = 300;

function check(opts: { username?: string; password?: string; useCandidate?: boolean; fingerprint?: boolean } = {}): Buffer {
  return encodeIceCheck({
    transactionId: randomBytes(12),
    username: opts.username ?? `${ICE.ufrag}:${ICE.remoteUfrag}`,
    password: opts.password ?? ICE.pwd,
    useCandidate: opts.useCandidate ?? false,
    fingerprint: opts.fingerprint ?? true,
  });
}

function verifyResponse(res: Buffer, req: Buffer, from: TestUdp): void {
  const m = new StunMessage();
  expect(parseStun(res, m)).to.equal(null);
  expect(m.type).to.equal(STUN_BINDING_SUCCESS);
  expect(res.subarray(8, 20)).to.deep.equal(req.subarray(8, 20), 'transaction ID');
  const a = new StunAttributes();
  expect(readStunAttributes(res, a)).to.equal(null);
  expect(stunIntegrityOk(res, a.integrityOffset, Buffer.from(ICE.pwd))).to.equal(true);
  expect(stunFingerprintOk(res, a.fingerprintOffset)).to.equal(true);
  expect(readXorMappedAddress(res)).to.deep.equal({ family: 4, address: from.address, port: from.port });
  // No amplification: never more than the request plus 16 bytes.
  expect(res.length).to.be.at.most(req.length + 16);
}

/** A Binding request with the given attributes (hex) and a correct FINGERPRINT. */
function withFingerprint(attrsHex: string): Buffer {
  const body = Buffer.from(attrsHex.replace(/\s+/g, ''), 'hex');
  const msg = Buffer.concat([Buffer.from('000100002112a442', 'hex'), randomBytes(12), body, Buffer.alloc(8)]);
  msg.writeUInt16BE(msg.length - 20, 2);
  const fp = msg.length - 8;
  msg.writeUInt16BE(0x8028, fp);
  msg.writeUInt16BE(4, fp + 2);
  msg.writeUInt32BE((crc32(msg, 0, fp) ^ 0x5354554e) >>> 0, fp + 4);
  return msg;
}

async function quiet(sock: TestUdp): Promise<void> {
  await new Promise((r) => setTimeout(r, QUIET_MS));
  expect(sock.pending(), 'nothing sent back').to.have.length(0);
}

describe('reflector core: ICE-lite checks on the media ports', () => {
  let core: TestCore | null = null;
  const { client, sock } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  async function iceSession(mux = false): Promise<{ a: TestClient; b: TestClient; relay: TestUdp }> {
    if (core === null) throw new Error('no core');
    const a = await client('127.0.70.10');
    const b = await client('127.0.70.11');
    // a's SDP names its (unreachable) host address; its media will come from the relay.
    a.join(core, 'ice', [{ ...a.stream({ ssrcs: [0xa] }), ice: ICE, ...(mux ? { rtcpMux: true } : {}) }]);
    b.join(core, 'ice');
    return { a, b, relay: await sock('127.0.70.50') };
  }

  it('answers a check with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT; USE-CANDIDATE latches the stream to the checked address', async () => {
    ({ core } = await startCore(CORE_IP));
    const { b, relay } = await iceSession();
    const req = check();
    await relay.send(req, AUDIO, CORE_IP);
    const res = await relay.nextMessage(WAIT_MS);
    expect(res.rinfo.port).to.equal(AUDIO, 'answered from the port it came to');
    verifyResponse(res.msg, req, relay);
    // Not nominated yet: media from the relay is not attributed.
    await relay.send(rtpPacket(0xa2, 1), AUDIO, CORE_IP);
    await waitUntil(() => (core?.drops().unknown_source ?? 0) >= 1, WAIT_MS, 'unknown_source');
    const nominate = check({ useCandidate: true });
    await relay.send(nominate, AUDIO, CORE_IP);
    verifyResponse((await relay.nextMessage(WAIT_MS)).msg, nominate, relay);
    // Now b's media goes to the relay address, and the relay's media reaches b.
    await b.rtp.send(rtpPacket(0xb, 1), AUDIO, CORE_IP);
    const got = await relay.nextMessage(WAIT_MS);
    expect(got.msg.readUInt32BE(8)).to.equal(0xb);
    await relay.send(rtpPacket(0xa, 2), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xa);
    expect(core.iceChecksAnswered()).to.equal(2);
    const snap = core.snapshot()[0].participants.find((p) => p.id !== b.id);
    expect(snap?.streams[0].rtpSource).to.equal(`127.0.70.50:${relay.port}`);
  });

  it('a nominated latch is not moved by media from elsewhere (not even the SDP address), only by another nomination', async () => {
    ({ core } = await startCore(CORE_IP));
    const { a, b, relay } = await iceSession();
    await relay.send(check({ useCandidate: true }), AUDIO, CORE_IP);
    await relay.nextMessage(WAIT_MS);
    // From a's SDP address and port (latching rule 1 would take it): dropped.
    await a.rtp.send(rtpPacket(0xa, 1), AUDIO, CORE_IP);
    await waitUntil(() => (core?.drops().ice_unnominated_source ?? 0) >= 1, WAIT_MS, 'ice_unnominated_source');
    expect(b.rtp.pending()).to.have.length(0);
    await b.rtp.send(rtpPacket(0xb, 1), AUDIO, CORE_IP);
    expect((await relay.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xb);
    // A nominated check from the host address moves it there.
    await a.rtp.send(check({ useCandidate: true }), AUDIO, CORE_IP);
    await a.rtp.nextMessage(WAIT_MS);
    await b.rtp.send(rtpPacket(0xb, 2), AUDIO, CORE_IP);
    expect((await a.rtp.nextMessage(WAIT_MS)).msg.readUInt32BE(8)).to.equal(0xb);
    await quiet(relay);
  });

  it('with rtcp-mux, RTCP from the nominated relay address is read and forwarded, and RTCP to it goes to the RTP address from the RTP port', async () => {
    ({ core } = await startCore(CORE_IP));
    const { b, relay } = await iceSession(true);
    await relay.send(check({ useCandidate: true }), AUDIO, CORE_IP);
    await relay.nextMessage(WAIT_MS);
    await relay.send(rtcpRr(0xa), AUDIO, CORE_IP);
    expect((await b.rtcp.nextMessage(WAIT_MS)).msg).to.deep.equal(rtcpRr(0xa));
    await b.rtcp.send(rtcpRr(0xb), AUDIO + 1, CORE_IP);
    const got = await relay.nextMessage(WAIT_MS);
    expect(got.msg).to.deep.equal(rtcpRr(0xb));
    expect(got.rinfo.port).to.equal(AUDIO);
    // A component-2 check on the RTCP port does not exist with rtcp-mux.
    await relay.send(check({ useCandidate: true }), AUDIO + 1, CORE_IP);
    await waitUntil(() => (core?.drops().ice_no_stream ?? 0) >= 1, WAIT_MS, 'ice_no_stream');
  });

  it('a nominated check on the RTCP port latches the RTCP flow (component 2)', async () => {
    ({ core } = await startCore(CORE_IP));
    const { b } = await iceSession();
    const relayRtcp = await sock('127.0.70.51');
    await relayRtcp.send(check({ useCandidate: true }), AUDIO + 1, CORE_IP);
    expect((await relayRtcp.nextMessage(WAIT_MS)).rinfo.port).to.equal(AUDIO + 1);
    await b.rtcp.send(rtcpRr(0xb), AUDIO + 1, CORE_IP);
    expect((await relayRtcp.nextMessage(WAIT_MS)).msg).to.deep.equal(rtcpRr(0xb));
  });

  it('drops and counts wrong password, unknown ufrag, wrong remote ufrag, bad fingerprint, no fingerprint, no integrity, no username and truncated attributes; nothing is answered or latched', async () => {
    ({ core } = await startCore(CORE_IP));
    const { b, relay } = await iceSession();
    const badFp = check({ useCandidate: true });
    badFp[badFp.length - 1] ^= 1;
    const truncated = check({ useCandidate: true });
    truncated.writeUInt16BE(0x0100, 22); // USERNAME claims 256 bytes
    const response = check();
    response.writeUInt16BE(0x0101, 0); // a success response, not a request
    const cases: [string, Buffer][] = [
      ['ice_bad_integrity', check({ useCandidate: true, password: 'wrongPasswordOf22chars' })],
      ['ice_unknown_ufrag', check({ useCandidate: true, username: `nope:${ICE.remoteUfrag}` })],
      ['ice_unknown_ufrag', check({ useCandidate: true, username: `${ICE.ufrag}:other` })],
      ['ice_bad_fingerprint', badFp],
      ['ice_no_fingerprint', check({ useCandidate: true, fingerprint: false })],
      ['stun_attribute_overrun', truncated],
      ['stun_too_short', Buffer.from('0001', 'hex')],
      ['stun_bad_length', Buffer.concat([check(), Buffer.alloc(4)])],
      ['ice_not_binding_request', response],
      ['ice_no_username', withFingerprint('0024 0004 6e0001ff')],
      ['ice_no_integrity', withFingerprint(`0006 0009 ${Buffer.from(`${ICE.ufrag}:${ICE.remoteUfrag}`).toString('hex')} 000000`)],
    ];
    for (const [reason, pkt] of cases) {
      const before = core.drops()[reason] ?? 0;
      await relay.send(pkt, AUDIO, CORE_IP);
      await waitUntil(() => (core?.drops()[reason] ?? 0) === before + 1, WAIT_MS, reason);
    }
    await quiet(relay);
    expect(core.iceChecksAnswered()).to.equal(0);
    // Nothing latched: b's media does not reach the relay address.
    await b.rtp.send(rtpPacket(0xb, 1), AUDIO, CORE_IP);
    await quiet(relay);
    expect(core.drops().internal_error).to.equal(0);
    expect(core.has(b.id)).to.equal(true);
  });

  it('ICE off: STUN on the media ports is dropped as ice_off and not answered', async () => {
    ({ core } = await startCore(CORE_IP, { ice: false }));
    const { relay } = await iceSession();
    await relay.send(check({ useCandidate: true }), AUDIO, CORE_IP);
    await waitUntil(() => (core?.drops().ice_off ?? 0) >= 1, WAIT_MS, 'ice_off');
    await quiet(relay);
  });

  it('checks keep a participant alive (consent freshness); when checks and media stop it times out like an inactive one', async function () {
    this.timeout(20_000);
    ({ core } = await startCore(CORE_IP, { inactivityTimeoutS: 1 }));
    const { a, relay } = await iceSession();
    const removed = new Promise<[string, string]>((resolve) => core?.events.on('participant-removed', (id, _s, reason) => { if (id === a.id) resolve([id, reason]); }));
    // 2.5 s of checks every 300 ms: longer than the timeout, and a stays.
    for (let i = 0; i < 8; i++) {
      await relay.send(check({ useCandidate: i === 0 }), AUDIO, CORE_IP);
      await relay.nextMessage(WAIT_MS);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(core.has(a.id)).to.equal(true);
    // Checks stop: the participant is removed as timed out.
    expect(await withTimeout(removed, 5000, 'removal')).to.deep.equal([a.id, 'timeout']);
  });
});
