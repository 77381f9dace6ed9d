/**
 * A peer's SHARE_ANNOUNCE makes the proxy listen on a port of its client range.
 * When that listen fails with anything but "port taken" (EADDRNOTAVAIL after an
 * address went away at run time; here: a port the OS refuses outright), the
 * failure is counted and logged — it must not escape as an unhandled promise
 * rejection, which ends a Node 20 process.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.9.60';
const PEER = '127.0.9.61';
const SESSION = 'listen fails';

describe('proxy: a failed listen for a peer share is counted, not an unhandled rejection', function () {
  this.timeout(30_000);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => { rejections.push(reason); };
  let mochaListeners: NodeJS.UnhandledRejectionListener[] = [];

  beforeEach(() => {
    // Only this test's listener sees rejections (mocha's own would fail the run elsewhere).
    mochaListeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onRejection);
  });

  afterEach(() => {
    process.off('unhandledRejection', onRejection);
    for (const l of mochaListeners) process.on('unhandledRejection', l);
    rejections.length = 0;
  });
  // Closed after mocha's listeners are back (afterEach hooks run in the order registered).
  const h = useProxyHarness();

  it('counts proxy_listen_failed and keeps serving', async () => {
    const at = await h.reflector(R, {
      peers: [PEER],
      // Not a TCP port: listen() refuses it (ERR_SOCKET_BAD_PORT), as it refuses an address that went away.
      config: { appshareClientPorts: { first: 70_000, last: 70_000 } },
    });
    const peer = await h.peerInSession(at, PEER, SESSION, 9);
    await peer.sendControl(R, RflxSubtype.PeerShareAnnounce, {
      session: SESSION, shareId: 61, address: PEER, port: 6000, passkey: randomBytes(16), sharer: 's', title: 't',
    });
    const p = at.proxy;
    await waitUntil(() => (p.stats().proxy_listen_failed ?? 0) === 1 || rejections.length > 0, 5000, 'the announcement handled');
    expect(rejections).to.deep.equal([]);
    expect(p.stats().proxy_listen_failed).to.equal(1);
    expect(p.shares()).to.deep.equal([]);
  });
});
