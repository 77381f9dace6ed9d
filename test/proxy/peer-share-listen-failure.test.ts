/**
 * A peer's SHARE_ANNOUNCE makes the proxy listen on a port of its client range.
 * When that listen fails with anything but "port taken" (EADDRNOTAVAIL after an
 * address went away at run time; here: a port the OS refuses outright), the
 * failure is counted and logged — it must not escape as an unhandled promise
 * rejection, which ends a Node 20 process.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterconnect, type Interconnect } from '../../src/interconnect/index.js';
import { createProxy, type Proxy } from '../../src/proxy/index.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { waitUntil } from '../helpers/wait.js';
import { RELAY_PORT } from '../interconnect/harness.js';
import { RawPeer } from '../interconnect/raw-peer.js';
import { startCore, type TestCore } from '../reflector/fixture.js';

const R = '127.0.9.60';
const PEER = '127.0.9.61';
const SESSION = 'listen fails';

describe('proxy: a failed listen for a peer share is counted, not an unhandled rejection', function () {
  this.timeout(30_000);
  let core: TestCore | null = null;
  let link: Interconnect | null = null;
  let proxy: Proxy | null = null;
  let peer: RawPeer | null = null;
  let spool = '';
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => { rejections.push(reason); };
  let mochaListeners: NodeJS.UnhandledRejectionListener[] = [];

  beforeEach(() => {
    // Only this test's listener sees rejections (mocha's own would fail the run elsewhere).
    mochaListeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onRejection);
  });

  afterEach(async () => {
    process.off('unhandledRejection', onRejection);
    for (const l of mochaListeners) process.on('unhandledRejection', l);
    rejections.length = 0;
    await peer?.close();
    peer = null;
    await proxy?.close();
    proxy = null;
    await link?.close();
    link = null;
    await core?.close();
    core = null;
    if (spool !== '') await rm(spool, { recursive: true, force: true });
    spool = '';
  });

  it('counts proxy_listen_failed and keeps serving', async () => {
    spool = await mkdtemp(join(tmpdir(), 'proxy-listen-fail-'));
    const started = await startCore(R, {
      peers: [{ address: PEER, rtpRelayPort: RELAY_PORT }],
      // Not a TCP port: listen() refuses it (ERR_SOCKET_BAD_PORT), as it refuses an address that went away.
      appshareClientPorts: { first: 70_000, last: 70_000 },
      fileTransferPort: 0,
      fileSpoolDir: spool,
    });
    core = started.core;
    link = createInterconnect({ config: started.config, logger: silentLogger(), core: started.core, timing: { helloMs: 250, refreshMs: 500 } });
    await link.start();
    proxy = createProxy({ config: started.config, logger: silentLogger(), core: started.core, interconnect: link });
    await proxy.start();
    peer = await RawPeer.bind(PEER);
    await peer.sendControl(R, RflxSubtype.SessionState, { session: SESSION, relayId: 9, count: 1 });
    const l = link;
    await waitUntil(() => l.remoteCount(SESSION) === 1, 5000, 'peer COUNT 1');
    await peer.sendControl(R, RflxSubtype.PeerShareAnnounce, {
      session: SESSION, shareId: 61, address: PEER, port: 6000, passkey: randomBytes(16), sharer: 's', title: 't',
    });
    const p = proxy;
    await waitUntil(() => (p.stats().proxy_listen_failed ?? 0) === 1 || rejections.length > 0, 5000, 'the announcement handled');
    expect(rejections).to.deep.equal([]);
    expect(p.stats().proxy_listen_failed).to.equal(1);
    expect(p.shares()).to.deep.equal([]);
  });
});
