/**
 * FILE_TRANSFER_PORT against a slow-loris from one address: connections that
 * have not sent their PUT/GET line yet are bounded per source address, so one
 * host holding idle connections (each allowed the 10 s handshake deadline)
 * cannot use up the server's connection limit and lock everyone else out.
 */
import { expect } from 'chai';
import { waitUntil } from '../helpers/wait.js';
import { rawExchange, useProxyHarness, within, type IdleConnection } from './harness.js';

const HOST = '127.0.9.80';
const ATTACKER = '127.0.9.81';
const CLIENT = '127.0.9.82';

describe('proxy file server: pending connections per source address', () => {
  const h = useProxyHarness();

  it('closes idle connections beyond the per-source bound; another host is still served', async () => {
    const { spool } = await h.spool({ maxBytes: 1024 });
    const maxConnections = 8;
    const perSource = 3;
    const { server: s, port } = await h.fileServer(spool, { host: HOST, port: 0, tunables: { handshakeTimeoutMs: 20_000, maxConnections, maxPendingPerSource: perSource } });
    // The attacker opens as many idle connections as the server takes in all.
    const idle: IdleConnection[] = [];
    for (let i = 0; i < maxConnections; i++) idle.push(await h.idle(HOST, port, ATTACKER));
    await waitUntil(() => idle.filter((c) => c.closed()).length === maxConnections - perSource, 5000, 'excess idle connections closed');
    expect(s.drops.snapshot().file_too_many_pending).to.equal(maxConnections - perSource);
    // Someone else is still answered (here: ERR denied for an unknown id).
    const r = await within(rawExchange(HOST, port, `GET 1 ${'0'.repeat(32)}\n`, h.sockets, CLIENT), 5000, 'client answered');
    expect(r.received).to.equal('ERR denied\n');
  });
});
