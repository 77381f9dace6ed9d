/**
 * Announcements between peers are single UDP datagrams (SPEC §7 subtypes 18–20), and the Internet loses
 * some. Every refresh interval the proxy repeats each share and file announcement to the peers with
 * participants (shown end to end under 8 % loss by test/integration/firewall-faults.test.ts), and a peer
 * share that its origin stops announcing (its SHARE_END was lost) ends after 3.5 intervals. A raw peer on 127.0.10.31 against the real core, interconnect and proxy on 127.0.10.30,
 * with a 200 ms refresh interval.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Proxy } from '../../src/proxy/index.js';
import { RflxSubtype, type RflxFields } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import type { RawPeer } from '../interconnect/raw-peer.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.10.30';
const PEER = '127.0.10.31';
const SESSION = 'refreshed';
const REFRESH_MS = 200;

describe('proxy: share and file announcements to and from peers are refreshed', function () {
  this.timeout(20_000);
  const h = useProxyHarness();

  async function setup(): Promise<{ p: Proxy; raw: RawPeer }> {
    const at = await h.reflector(R, {
      peers: [PEER],
      config: { appshareServerPorts: { first: 26300, last: 26303 }, appshareClientPorts: { first: 26310, last: 26313 } },
      proxy: { peerRefreshMs: REFRESH_MS },
    });
    return { p: at.proxy, raw: await h.peerInSession(at, PEER, SESSION, 9) };
  }

  const share = (shareId: number): RflxFields => ({ session: SESSION, shareId, address: PEER, port: 6000, passkey: randomBytes(16), sharer: 's', title: 't' });

  it('a peer share announced once ends after 3.5 refresh intervals; one announced again and again stays', async () => {
    const { p, raw } = await setup();
    const kept = share(2);
    await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, share(1));
    await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, kept);
    await waitUntil(() => p.shares().length === 2, 5000, 'both shares');
    const started = Date.now();
    // Keep announcing share 2 (as a live origin does) until share 1 is gone.
    await waitUntil(async () => {
      await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, kept);
      return p.shares().length === 1;
    }, 5000, 'share 1 to end', REFRESH_MS / 2);
    expect(Date.now() - started).to.be.at.least(2 * REFRESH_MS);
    expect(p.shares().map((s) => s.id)).to.deep.equal([2]);
    // Not announced any more: it ends too.
    await waitUntil(() => p.shares().length === 0, 5000, 'share 2 to end');
  });
});
