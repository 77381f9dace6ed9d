/**
 * Hop count (SPEC §6): 1 when first relayed, +1 at every reflector that relays
 * on; a datagram is dropped above 8, so an accidental loop dies out. A raw peer
 * (raw-peer.ts) plays a far reflector of the previous protocol (version-1 shims,
 * no NODE_ID) so the shim bytes can be read and forged.
 */
import { expect } from 'chai';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import { ip, peerSnap, rtpPacket, useTestNodes } from './harness.js';
import { RawPeer } from './raw-peer.js';

describe('interconnect: hop count', () => {
  const t = useTestNodes();

  it('is 1 from the origin, 2 after one relay, and stops relaying past 8', async () => {
    // origin (127.0.3.2) – middle (127.0.3.3) – raw (127.0.3.5)
    const origin = await t.start(ip(2), [ip(3)]);
    const middle = await t.start(ip(3), [ip(2), ip(5)]);
    const raw = t.track(await RawPeer.bind(ip(5)));
    origin.core.addParticipant('hops');
    await raw.sendControl(ip(3), RflxSubtype.Hello, { reflectorId: 'raw', bootEpoch: 1n });
    await raw.sendControl(ip(3), RflxSubtype.SessionState, { session: 'hops', relayId: 0xfeed, count: 1 });
    await waitUntil(() => origin.link.peersWithParticipants('hops').length === 1, 5000, 'origin relays');

    origin.core.sendFromParticipant('hops', 'video', false, rtpPacket(1, 'hop'));
    const got = await waitUntil(() => raw.relayed[0], 5000, 'datagram at raw peer');
    expect(got.rtcp).to.equal(false);
    expect(got.data[0]).to.equal(0x52);
    expect(got.data[1]).to.equal(0x11); // version 1, video
    expect(got.data[2]).to.equal(2);
    const middleId = got.data.readUInt32BE(4);
    const announced = raw.messages(RflxSubtype.SessionState).find((m) => m.fields.session === 'hops');
    expect(announced?.fields.relayId).to.equal(middleId);
    expect(got.data.subarray(8).equals(rtpPacket(1, 'hop'))).to.equal(true);
    // The origin's own datagram carried hop 1 (the middle saw it relayed from the origin).
    expect(middle.core.delivered).to.have.length(1);
    expect(peerSnap(middle, origin).relayPacketsIn).to.equal(1);

    // Raw → middle with hop 7: delivered and relayed on to the origin with 8.
    await raw.sendRelay(ip(3), 'audio', false, 7, 0xfeed, rtpPacket(2, 'seven'));
    await waitUntil(() => origin.core.delivered.length === 1, 5000, 'hop 7 relayed on');
    expect(origin.core.delivered[0].packet.subarray(12).toString('latin1')).to.equal('seven');
    expect(peerSnap(origin, middle).relayPacketsIn).to.equal(1);
    // Hop 8: delivered at the middle, not relayed on (it would be 9).
    await raw.sendRelay(ip(3), 'audio', false, 8, 0xfeed, rtpPacket(3, 'eight'));
    await waitUntil(() => middle.link.drops().relay_hop_limit === 1, 5000, 'not relayed on');
    expect(middle.core.delivered).to.have.length(3);
    // Hop 9: dropped on arrival.
    await raw.sendRelay(ip(3), 'audio', false, 9, 0xfeed, Buffer.concat([rtpPacket(4, 'nine')]));
    await waitUntil(() => middle.link.drops().relay_hop_limit === 2, 5000, 'dropped on arrival');
    expect(middle.core.delivered).to.have.length(3);
    expect(origin.core.delivered).to.have.length(1);
  });
});
