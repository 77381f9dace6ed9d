import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { waitUntil } from '../helpers/wait.js';
import { rtpPacket, startCore, WAIT_MS, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.1.5';
const AUDIO = 5566;
const KEEPALIVE = [5570, 5571, 5572, 5573];

describe('reflector core: keep-alive ports', () => {
  let core: TestCore | null = null;
  const { client, sock } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('answers a STUN Binding Request on each keep-alive port with XOR-MAPPED-ADDRESS of the source', async () => {
    ({ core } = await startCore(CORE_IP));
    const s = await sock('127.0.1.170');
    for (const [i, port] of KEEPALIVE.entries()) {
      const txid = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, i]);
      const req = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), txid]);
      await s.send(req, port, CORE_IP);
      const got = await s.nextMessage(WAIT_MS);
      expect(got.rinfo.port).to.equal(port);
      const m = got.msg;
      // Header: Binding Success 0x0101, length 12, magic cookie, same transaction ID.
      expect(m.subarray(0, 8)).to.deep.equal(Buffer.from([0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42]));
      expect(m.subarray(8, 20)).to.deep.equal(txid);
      // XOR-MAPPED-ADDRESS: type 0x0020, length 8, reserved 0, family 1 (IPv4).
      expect(m.subarray(20, 24)).to.deep.equal(Buffer.from([0x00, 0x20, 0x00, 0x08]));
      expect(m[24]).to.equal(0);
      expect(m[25]).to.equal(1);
      // X-Port = port ^ 0x2112; X-Address = 127.0.1.170 ^ 0x2112a442.
      expect(m.readUInt16BE(26)).to.equal(s.port ^ 0x2112);
      expect([...m.subarray(28, 32)]).to.deep.equal([127 ^ 0x21, 0 ^ 0x12, 1 ^ 0xa4, 170 ^ 0x42]);
      expect(m.length).to.equal(32);
    }
  });

  it('echoes an RTP keep-alive with a known SSRC byte for byte, refreshes and latches the stream to its source', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.171');
    const b = await client('127.0.1.172');
    // a's SDP names ports it does not use and its ACK never arrives: nothing may go to a yet.
    a.join(core, 'ka', [a.stream({ ssrcs: [0xabcd], rtpPort: 9, rtcpPort: 10 })], {}, null);
    b.join(core, 'ka');
    const keepalive = rtpPacket(0xabcd, 99, 0, Buffer.alloc(0));
    expect(keepalive.length).to.equal(12);
    await a.rtp.send(keepalive, KEEPALIVE[0], CORE_IP);
    const echo = await a.rtp.nextMessage(WAIT_MS);
    expect(echo.rinfo.port).to.equal(KEEPALIVE[0]);
    expect(echo.msg).to.deep.equal(keepalive);
    // The audio RTP receive address is now a's RTP socket: b's media reaches it.
    await b.rtp.send(rtpPacket(0xb0b0, 1), AUDIO, CORE_IP);
    const got = await a.rtp.nextMessage(WAIT_MS);
    expect(got.rinfo.port).to.equal(AUDIO);
    expect(got.msg.readUInt32BE(8)).to.equal(0xb0b0);
    // The RTCP port (index 1) latches the RTCP flow the same way.
    await a.rtcp.send(keepalive, KEEPALIVE[1], CORE_IP);
    expect((await a.rtcp.nextMessage(WAIT_MS)).msg).to.deep.equal(keepalive);
    const snap = core.snapshot()[0].participants.find((p) => p.id === a.id);
    expect(snap?.streams[0].rtpSource).to.equal(`127.0.1.171:${a.rtp.port}`);
    expect(snap?.streams[0].rtcpSource).to.equal(`127.0.1.171:${a.rtcp.port}`);
  });

  it('drops and counts anything else on the keep-alive ports', async () => {
    ({ core } = await startCore(CORE_IP));
    const s = await sock('127.0.1.173');
    await s.send(rtpPacket(0xdead, 1), KEEPALIVE[0], CORE_IP); // unknown SSRC
    await s.send(Buffer.from('hello'), KEEPALIVE[2], CORE_IP); // not STUN, not RTP
    const badStun = Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await s.send(badStun, KEEPALIVE[3], CORE_IP); // length field lies
    const c = core;
    await waitUntil(() => {
      const d = c.drops();
      return (d.keepalive_unknown ?? 0) >= 2 && (d.stun_bad_length ?? 0) >= 1;
    }, WAIT_MS, 'keep-alive drops');
    // Then a valid STUN request is still answered, and it is the only thing that came back.
    await s.send(Buffer.concat([badStun.subarray(0, 2), Buffer.from([0, 0]), badStun.subarray(4)]), KEEPALIVE[3], CORE_IP);
    const got = await s.nextMessage(WAIT_MS);
    expect(got.msg.readUInt16BE(0)).to.equal(0x0101);
    expect(s.all).to.have.length(1);
  });
});
