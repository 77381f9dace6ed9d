/**
 * Authenticated control (SPEC §6): with a secret every control packet carries
 * TIMESTAMP, SEQ and AUTH; anything failing is dropped and counted by reason.
 */
import { expect } from 'chai';
import { encodeOrigins } from '../../src/rtp/relay-routing.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { encodeRflx } from '../../src/rtp/rflx.js';
import { waitUntil } from '../helpers/wait.js';
import { ip, keyOf, peerSnap, rtpPacket, useTestNodes, type TestNode } from './harness.js';
import { RawPeer } from './raw-peer.js';

describe('interconnect: secrets', () => {
  const t = useTestNodes();

  it('with matching secrets the peers come up and media crosses', async () => {
    const a = await t.start(ip(2), [ip(3)], { secret: 'correct horse' });
    const b = await t.start(ip(3), [ip(2)], { secret: 'correct horse' });
    a.core.addParticipant('sec');
    b.core.addParticipant('sec');
    await waitUntil(() => a.link.peersWithParticipants('sec').length === 1 && b.link.peersWithParticipants('sec').length === 1, 5000, 'relay on');
    a.core.sendFromParticipant('sec', 'audio', false, rtpPacket(1, 'ok'));
    await waitUntil(() => b.core.delivered.length === 1, 5000, 'media at B');
    expect(a.link.drops()).to.deep.equal({});
    expect(b.link.drops()).to.deep.equal({});
  });

  it('with mismatched secrets nothing crosses and auth failures are counted', async () => {
    const a = await t.start(ip(2), [ip(3)], { secret: 'one' });
    const b = await t.start(ip(3), [ip(2)], { secret: 'two' });
    a.core.addParticipant('sec');
    b.core.addParticipant('sec');
    await waitUntil(() => (a.link.drops().auth_failed ?? 0) >= 3 && (b.link.drops().auth_failed ?? 0) >= 3, 5000, 'auth failures');
    expect(peerSnap(a, b).up).to.equal(false);
    expect(peerSnap(b, a).up).to.equal(false);
    expect(a.link.remoteCount('sec')).to.equal(0);
    expect(a.link.peersWithParticipants('sec')).to.deep.equal([]);
    a.core.sendFromParticipant('sec', 'audio', false, rtpPacket(1, 'no'));
    b.core.sendFromParticipant('sec', 'audio', false, rtpPacket(2, 'no'));
    expect(peerSnap(a, b).relayPacketsOut).to.equal(0);
    expect(peerSnap(b, a).relayPacketsOut).to.equal(0);
    expect(Object.keys(a.link.drops())).to.deep.equal(['auth_failed']);
  });

  it('drops a missing AUTH, a stale TIMESTAMP, a missing SEQ and a replayed packet, each by reason', async () => {
    const secret = 's3cret';
    const a = await t.start(ip(2), [ip(3)], { secret });
    const raw = t.track(await RawPeer.bind(ip(3)));
    const drops = (): Readonly<Record<string, number>> => a.link.drops();

    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'x', bootEpoch: 5n });
    await waitUntil(() => drops().auth_missing === 1, 5000, 'auth_missing');
    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'x', bootEpoch: 5n }, secret,
      { timestamp: BigInt(Date.now() - 120_000) });
    await waitUntil(() => drops().stale_timestamp === 1, 5000, 'stale_timestamp');
    await raw.sendRaw(ip(2), true, encodeRflx({ subtype: RflxSubtype.Hello, ssrc: 0,
      fields: { reflectorId: 'x', bootEpoch: 5n, timestamp: BigInt(Date.now()) } }, secret));
    await waitUntil(() => drops().seq_missing === 1, 5000, 'seq_missing');
    const tampered = encodeRflx({ subtype: RflxSubtype.Hello, ssrc: 0,
      fields: { reflectorId: 'x', bootEpoch: 5n, timestamp: BigInt(Date.now()), seq: 1 } }, secret);
    tampered[tampered.indexOf('x', 12)] ^= 0x01; // REFLECTOR_ID 'x' → 'y' after signing
    await raw.sendRaw(ip(2), true, tampered);
    await waitUntil(() => drops().auth_failed === 1, 5000, 'auth_failed');
    expect(peerSnap(a, { key: keyOf(ip(3)) } as TestNode).up).to.equal(false);

    // A valid one brings the peer up; the same bytes again are a replay.
    // A peer of the previous format (no NODE_ID) is refused on a link with a secret: it would relay media unprotected.
    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'x', bootEpoch: 5n }, secret, { seq: 9 });
    await waitUntil(() => drops().peer_version_refused === 1, 5000, 'peer_version_refused');
    expect(peerSnap(a, { key: keyOf(ip(3)) } as TestNode).up).to.equal(false);
    const good = encodeRflx({ subtype: RflxSubtype.Hello, ssrc: 0,
      fields: { reflectorId: 'x', bootEpoch: 5n, timestamp: BigInt(Date.now()), seq: 10, nodeId: 77 } }, secret);
    await raw.sendRaw(ip(2), true, good);
    await waitUntil(() => peerSnap(a, { key: keyOf(ip(3)) } as TestNode).up, 5000, 'peer up');
    await raw.sendRaw(ip(2), true, good);
    await waitUntil(() => drops().replayed_seq === 1, 5000, 'replayed_seq');
    // Reordered but unseen SEQs are still accepted once.
    await raw.sendControl(ip(2), RflxSubtype.SessionState, { session: 'z', relayId: 9, count: 1, bootEpoch: 5n, origins: encodeOrigins(new Map([[77, 1]])) }, secret, { seq: 8 });
    await waitUntil(() => a.link.remoteCount('z') === 1, 5000, 'SEQ 8 after 10 accepted');
    // An authenticated packet of an older boot epoch while the peer is up: a replay of its past.
    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'x', bootEpoch: 4n }, secret, { seq: 11 });
    await waitUntil(() => drops().stale_epoch === 1, 5000, 'stale_epoch');
    // What A sends to a peer with a secret is authenticated too.
    const fromA = await waitUntil(() => raw.messages(RflxSubtype.Hello)[0], 5000, 'HELLO from A');
    expect(fromA.fields.auth).to.have.length(16);
    expect(fromA.fields.seq).to.be.a('number');
    expect(Number(fromA.fields.timestamp)).to.be.closeTo(Date.now(), 60_000);
  });
});
