/**
 * Share ports against a slow-loris from one address: connections that have not
 * sent their SHARE/VIEW line are bounded per source address, so one host
 * holding idle connections cannot fill a share's client port
 * (maxConnectionsPerPort) and lock the real viewers out.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { newPasskey } from '../../src/proxy/passkey.js';
import { ShareHub } from '../../src/proxy/share-hub.js';
import { openView } from '../../tools/lib/proxy-client.js';
import { waitUntil } from '../helpers/wait.js';
import { within } from './support.js';

const HOST = '127.0.9.90';
const ATTACKER = '127.0.9.91';
const VIEWER = '127.0.9.92';

describe('proxy share ports: pending connections per source address', () => {
  let hub: ShareHub | null = null;
  const sockets = new Set<Socket>();

  afterEach(() => {
    hub?.close();
    hub = null;
    for (const s of sockets) s.destroy();
    sockets.clear();
  });

  it('closes idle connections beyond the per-source bound; a viewer from another host still gets in', async () => {
    const maxConnectionsPerPort = 6;
    const perSource = 2;
    hub = new ShareHub({
      host: HOST,
      serverPorts: { first: 26400, last: 26401 },
      clientPorts: { first: 26410, last: 26411 },
      tunables: { handshakeTimeoutMs: 20_000, maxConnectionsPerPort, maxPendingPerSource: perSource },
    });
    const share = await hub.createLocal({ id: 9090, session: 's', title: 't', sharer: 'u', passkey: newPasskey() });
    expect(share).to.not.equal(null);
    if (share === null) return;
    const closed: boolean[] = [];
    for (let i = 0; i < maxConnectionsPerPort; i++) {
      const sock = connect({ host: HOST, port: share.clientPort, localAddress: ATTACKER });
      sock.on('error', () => undefined);
      sockets.add(sock);
      closed.push(false);
      sock.once('close', () => { closed[i] = true; });
      await within(new Promise<void>((r) => sock.once('connect', () => r())), 5000, 'attacker connect');
    }
    const h = hub;
    await waitUntil(() => closed.filter((c) => c).length === maxConnectionsPerPort - perSource, 5000, 'excess idle connections closed');
    expect(h.drops.snapshot().share_too_many_pending).to.equal(maxConnectionsPerPort - perSource);
    const viewer = await within(
      openView({ host: HOST, port: share.clientPort, localAddress: VIEWER }, { id: share.info.id, passkey: share.info.passkey }),
      5000, 'viewer admitted');
    sockets.add(viewer);
    expect(share.snapshot().viewers).to.equal(1);
  });
});
