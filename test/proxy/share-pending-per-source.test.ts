/**
 * Share ports against a slow-loris from one address: connections that have not
 * sent their SHARE/VIEW line are bounded per source address, so one host
 * holding idle connections cannot fill a share's client port
 * (maxConnectionsPerPort) and lock the real viewers out.
 */
import { expect } from 'chai';
import { newPasskey } from '../../src/proxy/passkey.js';
import { openView } from '../../tools/lib/proxy-client.js';
import { waitUntil } from '../helpers/wait.js';
import { useProxyHarness, within, type IdleConnection } from './harness.js';

const HOST = '127.0.9.90';
const ATTACKER = '127.0.9.91';
const VIEWER = '127.0.9.92';

describe('proxy share ports: pending connections per source address', () => {
  const h = useProxyHarness();

  it('closes idle connections beyond the per-source bound; a viewer from another host still gets in', async () => {
    const maxConnectionsPerPort = 6;
    const perSource = 2;
    const hub = h.shareHub({
      host: HOST,
      serverPorts: { first: 26400, last: 26401 },
      clientPorts: { first: 26410, last: 26411 },
      tunables: { handshakeTimeoutMs: 20_000, maxConnectionsPerPort, maxPendingPerSource: perSource },
    });
    const share = await hub.createLocal({ id: 9090, session: 's', title: 't', sharer: 'u', passkey: newPasskey() });
    expect(share).to.not.equal(null);
    if (share === null) return;
    const idle: IdleConnection[] = [];
    for (let i = 0; i < maxConnectionsPerPort; i++) idle.push(await h.idle(HOST, share.clientPort, ATTACKER));
    await waitUntil(() => idle.filter((c) => c.closed()).length === maxConnectionsPerPort - perSource, 5000, 'excess idle connections closed');
    expect(hub.drops.snapshot().share_too_many_pending).to.equal(maxConnectionsPerPort - perSource);
    const viewer = await within(
      openView({ host: HOST, port: share.clientPort, localAddress: VIEWER }, { id: share.info.id, passkey: share.info.passkey }),
      5000, 'viewer admitted');
    h.sockets.add(viewer);
    expect(share.snapshot().viewers).to.equal(1);
  });
});
