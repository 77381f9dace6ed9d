/**
 * Two interconnects on 127.0.3.2 and 127.0.3.3, same relay port, peers of each
 * other, over real UDP (SPEC §6): relay starts only when both sides have
 * participants, carries RTP and RTCP both ways unchanged, and stops when the
 * far side leaves. The cores are stand-ins (stand-in-core.ts).
 */
import { expect } from 'chai';
import { waitUntil } from '../helpers/wait.js';
import { ip, peerSnap, rtcpPacket, rtpPacket, useTestNodes, type TestNode } from './harness.js';

describe('interconnect: a pair of reflectors', () => {
  const t = useTestNodes();

  async function pair(): Promise<[TestNode, TestNode]> {
    const a = await t.start(ip(2), [ip(3)]);
    const b = await t.start(ip(3), [ip(2)]);
    await waitUntil(() => peerSnap(a, b).up && peerSnap(b, a).up, 5000, 'both peers up');
    return [a, b];
  }

  it('comes up on HELLO with the peer REFLECTOR_ID and boot epoch', async () => {
    const [a, b] = await pair();
    const seen = peerSnap(a, b);
    expect(seen.id).to.equal(`r-${ip(3)}`);
    expect(seen.bootEpoch).to.match(/^\d+$/);
    expect(a.link.peerAddress(b.key)).to.equal(ip(3));
    expect(a.link.drops()).to.deep.equal({});
  });

  it('sends no relay datagrams while only one side has participants', async () => {
    const [a, b] = await pair();
    a.core.addParticipant('weekly');
    await waitUntil(() => b.link.remoteCount('weekly') === 1, 5000, 'B learns COUNT 1 from A');
    expect(b.link.peersWithParticipants('weekly')).to.deep.equal([a.key]);
    // B has nobody: it announces nothing > 0 to A, so A must not relay.
    expect(a.link.remoteCount('weekly')).to.equal(0);
    expect(a.link.peersWithParticipants('weekly')).to.deep.equal([]);
    a.core.sendFromParticipant('weekly', 'audio', false, rtpPacket(1, 'early'));
    a.core.sendFromParticipant('weekly', 'audio', true, rtcpPacket(7));
    expect(peerSnap(a, b).relayPacketsOut).to.equal(0);

    // Once B has a participant, the next packet crosses — and the early one never did.
    b.core.addParticipant('weekly');
    await waitUntil(() => a.link.peersWithParticipants('weekly').length === 1, 5000, 'A learns COUNT from B');
    a.core.sendFromParticipant('weekly', 'audio', false, rtpPacket(2, 'later'));
    await waitUntil(() => b.core.delivered.length >= 1, 5000, 'relayed packet at B');
    expect(b.core.delivered.map((d) => d.packet.subarray(12).toString('latin1'))).to.deep.equal(['later']);
  });

  it('relays a session\'s media to a peer only after its SESSION_STATE (with the RELAY_ID) went there', async () => {
    const [a, b] = await pair();
    b.core.addParticipant('late');
    await waitUntil(() => a.link.peersWithParticipants('late').length === 1, 5000, 'A learns COUNT from B');
    // A's first participant joins and sends in the same turn, before A has announced the session to B:
    // relayed now, the datagram would reach B with a RELAY_ID B cannot place yet.
    a.core.addParticipant('late');
    a.core.sendFromParticipant('late', 'audio', false, rtpPacket(1, 'too-early'));
    expect(peerSnap(a, b).relayPacketsOut).to.equal(0);
    await waitUntil(() => b.link.remoteCount('late') === 1, 5000, 'B learns COUNT and RELAY_ID from A');
    a.core.sendFromParticipant('late', 'audio', false, rtpPacket(2, 'after'));
    await waitUntil(() => b.core.delivered.length >= 1, 5000, 'relayed packet at B');
    expect(b.core.delivered.map((d) => d.packet.subarray(12).toString('latin1'))).to.deep.equal(['after']);
    expect(b.link.drops()).to.not.have.property('relay_unknown_session');
  });

  it('relays RTP and RTCP of both media both ways, unchanged, once both sides have participants', async () => {
    const [a, b] = await pair();
    a.core.addParticipant('s1');
    b.core.addParticipant('s1');
    await waitUntil(
      () => a.link.peersWithParticipants('s1').includes(b.key) && b.link.peersWithParticipants('s1').includes(a.key),
      5000, 'counts exchanged');
    expect(a.link.remoteCount('s1')).to.equal(1);

    const fromA = [rtpPacket(10, 'a-audio'), rtcpPacket(0xa0), rtpPacket(11, 'a-video')];
    a.core.sendFromParticipant('s1', 'audio', false, fromA[0]);
    a.core.sendFromParticipant('s1', 'audio', true, fromA[1]);
    a.core.sendFromParticipant('s1', 'video', false, fromA[2]);
    const fromB = rtpPacket(20, 'b-audio');
    b.core.sendFromParticipant('s1', 'audio', false, fromB);

    await waitUntil(() => b.core.delivered.length === 3 && a.core.delivered.length === 1, 5000, 'all relayed');
    const atB = b.core.delivered;
    expect(atB.map((d) => [d.session, d.medium, d.rtcp])).to.have.deep.members([
      ['s1', 'audio', false], ['s1', 'audio', true], ['s1', 'video', false],
    ]);
    for (const d of atB) {
      const sent = d.rtcp ? fromA[1] : d.medium === 'video' ? fromA[2] : fromA[0];
      expect(d.packet.equals(sent)).to.equal(true);
    }
    expect(a.core.delivered[0].packet.equals(fromB)).to.equal(true);
    expect(peerSnap(a, b).relayPacketsIn).to.equal(1);
    expect(peerSnap(a, b).relayPacketsOut).to.equal(3);
    expect(peerSnap(b, a).relayPacketsIn).to.equal(3);
    expect(peerSnap(b, a).relayBytesIn).to.equal(fromA.reduce((n, p) => n + 16 + p.length, 0));
    expect(a.link.drops()).to.deep.equal({});
    expect(b.link.drops()).to.deep.equal({});
  });

  it('stops relaying when the far side leaves (COUNT 0)', async () => {
    const [a, b] = await pair();
    a.core.addParticipant('s2');
    const bp = b.core.addParticipant('s2');
    await waitUntil(() => a.link.peersWithParticipants('s2').length === 1, 5000, 'A relays to B');
    a.core.sendFromParticipant('s2', 'audio', false, rtpPacket(1, 'x'));
    await waitUntil(() => b.core.delivered.length === 1, 5000, 'first packet at B');

    const counts: number[] = [];
    a.link.events.on('remote-count', (s, k, c) => { if (s === 's2' && k === b.key) counts.push(c); });
    b.core.removeParticipant('s2', bp);
    await waitUntil(() => counts.includes(0), 5000, 'A hears COUNT 0');
    expect(a.link.peersWithParticipants('s2')).to.deep.equal([]);
    expect(a.link.remoteCount('s2')).to.equal(0);
    const before = peerSnap(a, b).relayPacketsOut;
    a.core.sendFromParticipant('s2', 'audio', false, rtpPacket(2, 'y'));
    expect(peerSnap(a, b).relayPacketsOut).to.equal(before);
  });

  it('tells the peer COUNT 0 for every session when it closes', async () => {
    const [a, b] = await pair();
    a.core.addParticipant('s3');
    a.core.addParticipant('s4');
    await waitUntil(() => b.link.remoteCount('s3') === 1 && b.link.remoteCount('s4') === 1, 5000, 'B knows both');
    await a.link.close();
    await a.link.close(); // idempotent
    await waitUntil(() => b.link.remoteCount('s3') === 0 && b.link.remoteCount('s4') === 0, 5000, 'B hears COUNT 0');
  });
});
