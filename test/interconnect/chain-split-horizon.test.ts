/**
 * A chain of three reflectors R2 – R1 – R3 (127.0.3.2 – 127.0.3.3 – 127.0.3.4),
 * the middle one without participants (SPEC §6): counts propagate with split
 * horizon, media crosses the middle, and nothing is relayed back to where it
 * came from. Cores are stand-ins (stand-in-core.ts); sockets are real.
 */
import { expect } from 'chai';
import { waitUntil } from '../helpers/wait.js';
import { ip, peerSnap, rtpPacket, useTestNodes } from './harness.js';

describe('interconnect: a chain of three reflectors', () => {
  const t = useTestNodes();

  it('relays through the middle reflector and never back to the sender', async () => {
    const left = await t.start(ip(2), [ip(3)]);
    const mid = await t.start(ip(3), [ip(2), ip(4)]);
    const right = await t.start(ip(4), [ip(3)]);
    left.core.addParticipant('chain');
    left.core.addParticipant('chain');
    right.core.addParticipant('chain');

    await waitUntil(() =>
      left.link.peersWithParticipants('chain').length === 1 &&
      right.link.peersWithParticipants('chain').length === 1 &&
      mid.link.peersWithParticipants('chain').length === 2, 5000, 'counts propagated');
    // COUNT through the middle: what lies beyond, never what the receiver itself has.
    expect(left.link.remoteCount('chain')).to.equal(1);
    expect(right.link.remoteCount('chain')).to.equal(2);
    expect(mid.link.remoteCount('chain')).to.equal(3);

    left.core.sendFromParticipant('chain', 'audio', false, rtpPacket(1, 'from-left'));
    right.core.sendFromParticipant('chain', 'video', false, rtpPacket(2, 'from-right'));
    await waitUntil(() => right.core.delivered.length === 1 && left.core.delivered.length === 1, 5000, 'media across');

    expect(peerSnap(right, mid).relayPacketsIn).to.equal(1);
    expect(right.core.delivered[0].packet.subarray(12).toString('latin1')).to.equal('from-left');
    expect(peerSnap(left, mid).relayPacketsIn).to.equal(1);
    expect(left.core.delivered[0].medium).to.equal('video');
    // The middle one's core saw each once, from the side it came from.
    expect(mid.core.delivered.map((d) => d.packet.subarray(12).toString('latin1'))).to.have.members(['from-left', 'from-right']);
    expect(peerSnap(mid, right).relayPacketsIn).to.equal(1);
    // Split horizon: the middle sent one datagram to each side, not an echo back.
    expect(peerSnap(mid, left).relayPacketsOut).to.equal(1);
    expect(peerSnap(mid, right).relayPacketsOut).to.equal(1);
    expect(peerSnap(mid, left).relayPacketsIn).to.equal(1);
    for (const n of [left, mid, right]) expect(n.link.drops()).to.deep.equal({});
  });

  it('stops relaying into a branch whose last participant left', async () => {
    const left = await t.start(ip(2), [ip(3)]);
    const mid = await t.start(ip(3), [ip(2), ip(4)]);
    const right = await t.start(ip(4), [ip(3)]);
    left.core.addParticipant('c2');
    const r = right.core.addParticipant('c2');
    await waitUntil(() => left.link.peersWithParticipants('c2').length === 1, 5000, 'left relays');
    right.core.removeParticipant('c2', r);
    await waitUntil(() => left.link.remoteCount('c2') === 0 && mid.link.remoteCount('c2') === 1, 5000, 'COUNT 0 propagated');
    expect(left.link.peersWithParticipants('c2')).to.deep.equal([]);
    expect(mid.link.peersWithParticipants('c2')).to.deep.equal([left.key]);
  });
});
