/**
 * Untrusted input on the relay ports (SPEC §6): only configured peers are
 * heard; every other datagram is dropped and counted by reason, never thrown,
 * never reflected to participants.
 */
import { expect } from 'chai';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { encodeRflx } from '../../src/rtp/rflx.js';
import { waitUntil } from '../helpers/wait.js';
import { ip, keyOf, peerSnap, rtpPacket, useTestNodes, type TestNode } from './harness.js';
import { RawPeer } from './raw-peer.js';

describe('interconnect: forged and malformed datagrams', () => {
  const t = useTestNodes();

  it('drops control and relay datagrams from a non-peer address', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    a.core.addParticipant('f');
    const intruder = t.track(await RawPeer.bind(ip(9)));
    await intruder.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'evil', bootEpoch: 1n });
    await intruder.sendControl(ip(2), RflxSubtype.SessionState, { session: 'f', relayId: 1, count: 5 });
    await intruder.sendRelay(ip(2), 'audio', false, 1, 1, rtpPacket(1, 'x'));
    await waitUntil(() => a.link.drops().not_peer === 3, 5000, 'three not_peer drops');
    expect(a.link.remoteCount('f')).to.equal(0);
    expect(a.link.peersWithParticipants('f')).to.deep.equal([]);
    expect(a.core.delivered).to.deep.equal([]);
    expect(a.link.peers().map((p) => p.key)).to.deep.equal([keyOf(ip(3))]);
  });

  it('counts malformed input from a peer by reason and keeps serving', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    const peer = t.track(await RawPeer.bind(ip(3)));
    const hello = encodeRflx({ subtype: RflxSubtype.Hello, ssrc: 0, fields: { reflectorId: 'p', bootEpoch: 1n } });
    const cases: [string, boolean, Buffer][] = [
      ['unknown_datagram', true, Buffer.from([0x00, 1, 2, 3])],
      ['unknown_datagram', false, Buffer.alloc(0)],
      ['control_on_rtp_port', false, hello],
      ['not_rflx', true, Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1])],
      ['not_rflx', true, Buffer.from([0x80, 204, 0, 9, 0, 0, 0, 0])], // length beyond the datagram
      ['rflx_tlv_truncated', true, Buffer.from([0x90, 204, 0, 3, 0, 0, 0, 0, 0x52, 0x46, 0x4c, 0x58, 17, 0x00, 0x09, 0])],
      ['hello_malformed', true, encodeRflx({ subtype: RflxSubtype.Hello, ssrc: 0, fields: { reflectorId: 'p' } })],
      ['session_state_malformed', true, encodeRflx({ subtype: RflxSubtype.SessionState, ssrc: 0, fields: { session: 's', count: 1 } })],
      ['bad_session_name', true, encodeRflx({ subtype: RflxSubtype.SessionState, ssrc: 0, fields: { session: 'a\u0007b', relayId: 1, count: 1 } })],
      ['unexpected_subtype', true, encodeRflx({ subtype: RflxSubtype.ShareRequest, ssrc: 0, fields: { requestId: 1, title: 't' } })],
      ['relay_too_short', false, Buffer.from([0x52, 0x10, 1, 0])],
      ['relay_bad_version', false, Buffer.from([0x52, 0x45, 1, 0, 0, 0, 0, 1, 0x80])],
      ['relay_bad_medium', true, Buffer.from([0x52, 0x12, 1, 0, 0, 0, 0, 1, 0x80])],
      ['relay_unknown_session', false, Buffer.from([0x52, 0x10, 1, 0, 0, 0, 0, 99, 0x80, 0, 0, 0])],
      ['relay_hop_limit', true, Buffer.from([0x52, 0x10, 9, 0, 0, 0, 0, 99, 0x80, 0, 0, 0])],
    ];
    const expected: Record<string, number> = {};
    for (const [reason, rtcp, data] of cases) {
      await peer.sendRaw(ip(2), rtcp, data);
      expected[reason] = (expected[reason] ?? 0) + 1;
    }
    const total = cases.length;
    await waitUntil(() => Object.values(a.link.drops()).reduce((n, v) => n + v, 0) === total, 5000, `${total} drops`);
    expect(a.link.drops()).to.deep.equal(expected);
    expect(a.core.delivered).to.deep.equal([]);
    // Still serving: a valid HELLO brings the peer up.
    await peer.sendRaw(ip(2), true, hello);
    await waitUntil(() => peerSnap(a, { key: keyOf(ip(3)) } as TestNode).up, 5000, 'peer up');
  });

  it('hands verified peer announcements (18-20) to the proxy and never to the core', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    const peer = t.track(await RawPeer.bind(ip(3)));
    const got: [string, number, string | undefined][] = [];
    a.link.events.on('peer-rflx', (k, m) => got.push([k, m.subtype, m.fields.session]));
    await peer.sendControl(ip(2), RflxSubtype.PeerShareEnd, { session: 'share-s', shareId: 42 });
    await waitUntil(() => got.length === 1, 5000, 'peer-rflx');
    expect(got[0]).to.deep.equal([keyOf(ip(3)), RflxSubtype.PeerShareEnd, 'share-s']);
    expect(a.core.delivered).to.deep.equal([]);

    a.link.sendRflx(keyOf(ip(3)), RflxSubtype.PeerFileAnnounce, { session: 'share-s', fileId: 7, name: 'a.txt', size: 3n });
    a.link.sendRflx(keyOf(ip(3)), RflxSubtype.Hello, { reflectorId: 'nope' }); // refused: not 18-20
    const m = await waitUntil(() => peer.messages(RflxSubtype.PeerFileAnnounce)[0], 5000, 'announce at peer');
    expect(m.fields).to.include({ session: 'share-s', fileId: 7, name: 'a.txt', size: 3n });
    expect(peer.messages(RflxSubtype.Hello).every((h) => h.fields.reflectorId !== 'nope')).to.equal(true);
  });
});
