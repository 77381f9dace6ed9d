import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { encodeRtp } from '../../src/rtp/rtp-header.js';
import { codec, startCore, WAIT_MS, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.1.4';
const AUDIO = 5566;

function packet(pt: number, seq: number, marker = false): Buffer {
  return encodeRtp({ payloadType: pt, sequenceNumber: seq, timestamp: seq, ssrc: 0x0b0b, marker }, Buffer.from('opus-frame'));
}

describe('reflector core: payload type rewrite', () => {
  let core: TestCore | null = null;
  const { client } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('maps each participant\'s dynamic PT through the canonical number, keeping the marker bit and the payload', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.160');
    const b = await client('127.0.1.161');
    const c = await client('127.0.1.162');
    // Canonical opus = 96, telephone-event = 101. a numbers them 111/110, b 100/127, c uses canonical.
    a.join(core, 'pt', [a.stream({ codecs: [codec('opus', 96, 111, 48000), codec('telephone-event', 101, 110)] })]);
    b.join(core, 'pt', [b.stream({ codecs: [codec('opus', 96, 100, 48000), codec('telephone-event', 101, 127)] })]);
    c.join(core, 'pt', [c.stream({ codecs: [codec('opus', 96, 96, 48000), codec('telephone-event', 101, 101)] })]);
    expect(core.sessionCodecs('pt', 'audio').map((x) => `${x.pt} ${x.name}`)).to.deep.equal(['96 opus', '101 telephone-event']);
    expect(core.participantCodecs(b.id, 'audio')?.map((x) => [x.canonicalPt, x.participantPt])).to.deep.equal([[96, 100], [101, 127]]);
    expect(core.participantCodecs('nobody', 'audio')).to.equal(undefined);
    expect(core.participantCodecs(b.id, 'video')).to.deep.equal([]);

    // a sends with its own number, with the marker set.
    const sent = packet(111, 1, true);
    await a.rtp.send(sent, AUDIO, CORE_IP);
    const atB = (await b.rtp.nextMessage(WAIT_MS)).msg;
    const atC = (await c.rtp.nextMessage(WAIT_MS)).msg;
    expect(atB[1]).to.equal(0x80 | 100);
    expect(atC[1]).to.equal(0x80 | 96);
    expect(atB.subarray(2)).to.deep.equal(sent.subarray(2));
    expect(atC.subarray(2)).to.deep.equal(sent.subarray(2));

    // a may also send with the answer's canonical number.
    await a.rtp.send(packet(96, 2), AUDIO, CORE_IP);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(100);
    expect((await c.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(96);

    // b's telephone-event reaches a as 110 and c as 101.
    await b.rtp.send(packet(127, 3), AUDIO, CORE_IP);
    expect((await a.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(110);
    expect((await c.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(101);

    // A PT nobody negotiated goes out unchanged.
    await c.rtp.send(packet(77, 4), AUDIO, CORE_IP);
    expect((await a.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(77);
    expect((await b.rtp.nextMessage(WAIT_MS)).msg[1]).to.equal(77);
  });
});
