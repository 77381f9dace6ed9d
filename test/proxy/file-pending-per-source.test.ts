/**
 * FILE_TRANSFER_PORT against a slow-loris from one address: connections that
 * have not sent their PUT/GET line yet are bounded per source address, so one
 * host holding idle connections (each allowed the 10 s handshake deadline)
 * cannot use up the server's connection limit and lock everyone else out.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServer } from '../../src/proxy/file-server.js';
import { FileSpool } from '../../src/proxy/file-spool.js';
import { waitUntil } from '../helpers/wait.js';
import { rawExchange, within } from './support.js';

const HOST = '127.0.9.80';
const ATTACKER = '127.0.9.81';
const CLIENT = '127.0.9.82';

describe('proxy file server: pending connections per source address', () => {
  let server: FileServer | null = null;
  let spool: FileSpool | null = null;
  let dir = '';
  const sockets = new Set<Socket>();

  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    await server?.close();
    server = null;
    await spool?.close();
    spool = null;
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  it('closes idle connections beyond the per-source bound; another host is still served', async () => {
    dir = await mkdtemp(join(tmpdir(), 'proxy-pending-'));
    spool = new FileSpool({ dir, maxBytes: 1024, ttlMs: 60_000 });
    const maxConnections = 8;
    const perSource = 3;
    server = new FileServer(spool, { host: HOST, port: 0, tunables: { handshakeTimeoutMs: 20_000, maxConnections, maxPendingPerSource: perSource } });
    const port = await server.listen();
    const s = server;
    // The attacker opens as many idle connections as the server takes in all.
    const closed: boolean[] = [];
    for (let i = 0; i < maxConnections; i++) {
      const sock = connect({ host: HOST, port, localAddress: ATTACKER });
      sock.on('error', () => undefined);
      sockets.add(sock);
      closed.push(false);
      sock.once('close', () => { closed[i] = true; });
      await within(new Promise<void>((r) => sock.once('connect', () => r())), 5000, 'attacker connect');
    }
    await waitUntil(() => closed.filter((c) => c).length === maxConnections - perSource, 5000, 'excess idle connections closed');
    expect(s.drops.snapshot().file_too_many_pending).to.equal(maxConnections - perSource);
    // Someone else is still answered (here: ERR denied for an unknown id).
    const r = await within(rawExchange(HOST, port, `GET 1 ${'0'.repeat(32)}\n`, sockets, CLIENT), 5000, 'client answered');
    expect(r.received).to.equal('ERR denied\n');
  });
});
