/**
 * A peer's RELAY_ID belongs to its session only while its COUNT is > 0 (SPEC §6:
 * COUNT 0 means the sender has left). After COUNT 0 — sent, or a session whose
 * refreshes stopped — relay datagrams carrying the old RELAY_ID are dropped, and
 * nothing of the old id is kept (a peer cycling ids cannot grow our tables).
 */
import { expect } from 'chai';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import { rtpPacket, useTestNodes } from './harness.js';
import { RawPeer } from './raw-peer.js';

function ip(n: number): string {
  return `127.0.9.${n}`;
}

describe('interconnect: RELAY_ID released with COUNT 0', () => {
  const t = useTestNodes();

  it('drops relay datagrams with the RELAY_ID of a session the peer left', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    a.core.addParticipant('s');
    const peer = t.track(await RawPeer.bind(ip(3)));
    const ids = [77, 78, 79];
    for (const relayId of ids) {
      await peer.sendControl(ip(2), RflxSubtype.SessionState, { session: 's', relayId, count: 1 });
      await waitUntil(() => a.link.remoteCount('s') === 1, 5000, `COUNT 1 with relay id ${relayId}`);
      await peer.sendControl(ip(2), RflxSubtype.SessionState, { session: 's', relayId, count: 0 });
      await waitUntil(() => a.link.remoteCount('s') === 0, 5000, `COUNT 0 with relay id ${relayId}`);
    }
    for (const relayId of ids) await peer.sendRelay(ip(2), 'audio', false, 1, relayId, rtpPacket(relayId, 'stale'));
    await waitUntil(() => a.link.drops().relay_unknown_session === ids.length, 5000, 'stale relay ids dropped');
    expect(a.core.delivered).to.deep.equal([]);
  });

  it('drops relay datagrams of a peer session that expired without a COUNT 0', async () => {
    const a = await t.start(ip(4), [ip(5)], { timing: { helloMs: 250, refreshMs: 100 } });
    a.core.addParticipant('e');
    const peer = t.track(await RawPeer.bind(ip(5)));
    await peer.sendControl(ip(4), RflxSubtype.SessionState, { session: 'e', relayId: 91, count: 2 });
    await waitUntil(() => a.link.remoteCount('e') === 2, 5000, 'COUNT 2');
    await waitUntil(() => a.link.remoteCount('e') === 0, 5000, 'expired after missed refreshes');
    await peer.sendRelay(ip(4), 'audio', false, 1, 91, rtpPacket(1, 'expired'));
    await waitUntil(() => a.link.drops().relay_unknown_session === 1, 5000, 'expired relay id dropped');
    expect(a.core.delivered).to.deep.equal([]);
  });
});
