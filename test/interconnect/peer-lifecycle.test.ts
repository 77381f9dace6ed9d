/**
 * Peer up/down and configuration reload (SPEC §6, §2 SIGHUP): a peer is down
 * after 3 missed HELLOs and what it announced is forgotten; reload adds and
 * removes peers without disturbing the others' relay.
 */
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { createInterconnect } from '../../src/interconnect/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import { FAST, RELAY_PORT, ip, keyOf, nodeConfig, peerSnap, rtpPacket, useTestNodes, type TestNode } from './harness.js';
import { RawPeer } from './raw-peer.js';
import { StandInCore } from './stand-in-core.js';

function bindUdp(address: string, port: number): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address, port, exclusive: true }, () => { s.off('error', reject); resolve(s); });
  });
}
function closeUdp(s: Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

describe('interconnect: peer lifecycle and reload', () => {
  const t = useTestNodes();
  /** Takes a relay port away from the interconnect (closed after the test). */
  async function squat(port: number): Promise<void> {
    const s = await bindUdp(ip(2), port);
    t.track({ close: () => closeUdp(s) });
  }

  it('marks a silent peer down after 3 missed HELLOs and forgets its sessions', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    const raw = t.track(await RawPeer.bind(ip(3)));
    const events: string[] = [];
    a.link.events.on('peer-up', (k) => events.push(`up ${k}`));
    a.link.events.on('peer-down', (k) => events.push(`down ${k}`));
    a.link.events.on('remote-count', (s, k, c) => events.push(`count ${s} ${k} ${c}`));
    a.core.addParticipant('quiet');
    const sentAt = Date.now();
    await raw.sendControl(ip(2), RflxSubtype.Hello, { reflectorId: 'once', bootEpoch: 1n });
    await raw.sendControl(ip(2), RflxSubtype.SessionState, { session: 'quiet', relayId: 5, count: 2 });
    await waitUntil(() => events.includes(`down ${keyOf(ip(3))}`), 5000, 'peer down');
    expect(Date.now() - sentAt).to.be.at.least(3 * FAST.helloMs);
    expect(events).to.deep.equal([
      `up ${keyOf(ip(3))}`, `count quiet ${keyOf(ip(3))} 2`, `count quiet ${keyOf(ip(3))} 0`, `down ${keyOf(ip(3))}`,
    ]);
    expect(a.link.peersWithParticipants('quiet')).to.deep.equal([]);
    expect(peerSnap(a, { key: keyOf(ip(3)) } as TestNode).up).to.equal(false);
    // It answered our HELLOs never, but ours kept going out.
    expect(raw.messages(RflxSubtype.Hello).length).to.be.at.least(3);
  });

  it('reload adds a peer and removes another without interrupting the remaining relay', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    const b = await t.start(ip(3), [ip(2)]);
    const c = await t.start(ip(4), [ip(2)]);
    for (const n of [a, b, c]) n.core.addParticipant('conf');
    await waitUntil(() => a.link.peersWithParticipants('conf').length === 1, 5000, 'A–B relay');

    a.link.reload(nodeConfig(ip(2), [ip(3), ip(4)]));
    await waitUntil(() => a.link.peersWithParticipants('conf').length === 2 && peerSnap(a, c).up, 5000, 'C added');
    expect(a.link.remoteCount('conf')).to.equal(2);
    // B learns C's participant through A.
    await waitUntil(() => b.link.remoteCount('conf') === 2, 5000, 'B counts C through A');

    a.link.reload(nodeConfig(ip(2), [ip(4)]));
    expect(a.link.peers().map((p) => p.key)).to.deep.equal([c.key]);
    await waitUntil(() => b.link.remoteCount('conf') === 0, 5000, 'B hears COUNT 0 from A');
    a.core.sendFromParticipant('conf', 'audio', false, rtpPacket(1, 'still'));
    await waitUntil(() => c.core.delivered.length === 1, 5000, 'A–C relay continues');
    expect(b.core.delivered).to.deep.equal([]);
    // B (removed) and C (before it was added) still send HELLOs: those are the only drops.
    expect(Object.keys(a.link.drops())).to.deep.equal(['not_peer']);
  });

  it('start() fails with EADDRINUSE when a relay port is taken, releasing the other socket', async () => {
    await squat(RELAY_PORT + 1);
    const link = createInterconnect({ config: nodeConfig(ip(2), [ip(3)]), logger: silentLogger(), core: new StandInCore(), timing: FAST });
    let code: string | undefined;
    try {
      await link.start();
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
    expect(code).to.equal('EADDRINUSE');
    await link.close();
    await squat(RELAY_PORT); // the RTP relay port was released
  });

  it('a reload naming a relay port that is taken drops that peer again and keeps the others', async () => {
    const a = await t.start(ip(2), [ip(3)]);
    const b = await t.start(ip(3), [ip(2)]);
    await waitUntil(() => peerSnap(a, b).up, 5000, 'A–B up');
    await squat(RELAY_PORT + 10);
    const other = { address: ip(4), rtpRelayPort: RELAY_PORT + 10 };
    a.link.reload({ ...nodeConfig(ip(2), [ip(3)]), peers: [...nodeConfig(ip(2), [ip(3)]).peers, other] });
    await waitUntil(() => a.link.peers().length === 1, 5000, 'peer on the taken port dropped');
    expect(a.link.peers()[0].key).to.equal(b.key);
    a.core.addParticipant('kept');
    b.core.addParticipant('kept');
    await waitUntil(() => a.link.peersWithParticipants('kept').length === 1, 5000, 'A–B relay still works');
  });
});
