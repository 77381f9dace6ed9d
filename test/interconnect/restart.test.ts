/**
 * Peer restart (SPEC §6): a new BOOT_EPOCH means the peer restarted, and all
 * state is re-announced at once — not at the next refresh, which these tests
 * set to a minute so that only the immediate re-announcement can pass them.
 */
import { expect } from 'chai';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import { ip, keyOf, peerSnap, rtpPacket, useTestNodes, type TestNode } from './harness.js';
import { RawPeer } from './raw-peer.js';

const SLOW_REFRESH = { refreshMs: 60_000 };

describe('interconnect: peer restart', () => {
  const t = useTestNodes();

  it('detects a recreated peer by its new boot epoch; state is re-announced and media resumes', async () => {
    const a = await t.start(ip(2), [ip(3)], { timing: SLOW_REFRESH });
    const b = await t.start(ip(3), [ip(2)], { timing: SLOW_REFRESH });
    a.core.addParticipant('r1');
    b.core.addParticipant('r1');
    await waitUntil(() => a.link.peersWithParticipants('r1').length === 1 && b.link.peersWithParticipants('r1').length === 1, 5000, 'relay on');
    const firstEpoch = peerSnap(a, b).bootEpoch;

    await b.link.close(); // b says COUNT 0 on the way out
    await waitUntil(() => a.link.remoteCount('r1') === 0, 5000, 'A hears COUNT 0');

    const b2 = await t.start(ip(3), [ip(2)], { timing: SLOW_REFRESH, core: b.core });
    await waitUntil(() => a.link.peersWithParticipants('r1').length === 1 && b2.link.peersWithParticipants('r1').length === 1, 5000, 'relay on again');
    const secondEpoch = peerSnap(a, b2).bootEpoch;
    expect(secondEpoch).to.be.a('string');
    expect(BigInt(secondEpoch ?? '0') > BigInt(firstEpoch ?? '0')).to.equal(true);

    a.core.sendFromParticipant('r1', 'audio', false, rtpPacket(1, 'again'));
    b2.core.sendFromParticipant('r1', 'audio', false, rtpPacket(2, 'back'));
    await waitUntil(() => b2.core.delivered.length === 1 && a.core.delivered.length === 1, 5000, 'media both ways');
  });

  it('after a crash (no COUNT 0), forgets the old instance at its new HELLO and re-announces at once', async () => {
    const a = await t.start(ip(2), [ip(3)], { timing: SLOW_REFRESH });
    const raw = t.track(await RawPeer.bind(ip(3)));
    const rawKey = keyOf(ip(3));
    a.core.addParticipant('r2');
    a.core.addParticipant('r2');

    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'crashy', bootEpoch: 1000n });
    await raw.sendControl(ip(2), RflxSubtype.SessionState, { session: 'r2', relayId: 77, count: 3, bootEpoch: 1000n });
    await waitUntil(() => a.link.peersWithParticipants('r2').includes(rawKey), 5000, 'A relays to the raw peer');
    const announced = await waitUntil(() => raw.messages(RflxSubtype.SessionState).find((m) => m.fields.session === 'r2'), 5000, 'A announces r2');
    expect(announced.fields.count).to.equal(2);

    const before = raw.messages(RflxSubtype.SessionState).length;
    const counts: number[] = [];
    a.link.events.on('remote-count', (s, k, c) => { if (s === 'r2' && k === rawKey) counts.push(c); });
    // The peer "crashed" and came back: a HELLO with a new epoch, nothing else.
    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'crashy', bootEpoch: 2000n });
    await waitUntil(() => raw !== undefined && raw.messages(RflxSubtype.SessionState).length > before, 3000, 'immediate re-announcement');
    const again = raw.messages(RflxSubtype.SessionState).slice(before);
    expect(again.map((m) => [m.fields.session, m.fields.count])).to.deep.include(['r2', 2]);
    expect(counts).to.deep.equal([0]);
    expect(a.link.peersWithParticipants('r2')).to.deep.equal([]);
    expect(peerSnap(a, { key: rawKey } as TestNode).bootEpoch).to.equal('2000');
  });
});
