import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileServer } from '../../src/proxy/file-server.js';
import type { FileSpool } from '../../src/proxy/file-spool.js';
import type { FileEntry } from '../../src/proxy/file-types.js';
import { getFile, ProxyProtocolError, putFile } from '../../tools/lib/proxy-client.js';
import { patternBuffer, rawExchange, useProxyHarness, within } from './harness.js';

const HOST = '127.0.4.20';
const PEER_HOST = '127.0.4.21';

function sha(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

describe('proxy file server (SPEC §9)', () => {
  const h = useProxyHarness();
  const sockets = h.sockets;

  async function setup(host: string, opts: { ttlMs?: number; maxBytes?: number; freeBytes?: number } = {}): Promise<{ spool: FileSpool; server: FileServer; dir: string; port: number }> {
    const free = opts.freeBytes;
    const { spool, dir } = await h.spool({
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
      ...(free !== undefined ? { freeBytes: async () => free } : {}),
    });
    const { server, port } = await h.fileServer(spool, { host, port: 0, tunables: { handshakeTimeoutMs: 2000 } });
    return { spool, server, dir, port };
  }

  async function granted(spool: FileSpool, data: Buffer, name = 'report.pdf', digest = sha(data)): Promise<FileEntry> {
    const g = await spool.grant({ session: 'weekly', name, size: BigInt(data.length), sha256: digest, sender: 'u1' });
    if (!g.ok) throw new Error(`grant refused: ${g.reason}`);
    return g.entry;
  }

  it('stores a verified upload under its own name, announces it once, and serves it whole and from an offset', async () => {
    const { spool, dir, port } = await setup(HOST);
    const data = patternBuffer(3 * 1024 * 1024 + 17);
    const entry = await granted(spool, data);
    const ready: number[] = [];
    spool.events.on('file-ready', (e) => ready.push(e.id));
    const digest = await within(putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data), 10000, 'put');
    expect(digest).to.equal(sha(data).toString('hex'));
    expect(ready).to.deep.equal([entry.id]);
    expect(dirname(entry.path)).to.equal(dir);
    expect((await readFile(entry.path)).equals(data)).to.equal(true);

    const whole = await within(getFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }), 10000, 'get');
    expect(whole.total).to.equal(data.length);
    expect(whole.sha256).to.equal(sha(data).toString('hex'));
    expect(whole.receivedSha256).to.equal(sha(data).toString('hex'));

    const offset = 1_000_003;
    const tail = await within(getFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, { offset }), 10000, 'resume');
    expect(tail.bytes).to.equal(data.length - offset);
    expect(tail.receivedSha256).to.equal(sha(data.subarray(offset)).toString('hex'));

    const end = await getFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, { offset: data.length });
    expect(end.bytes).to.equal(0);
    // A second upload of the same grant is refused.
    let err: unknown;
    try { await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(ProxyProtocolError);
  });

  it('refuses an upload whose SHA-256 differs, discards it and never announces it', async () => {
    const { spool, server, dir, port } = await setup(HOST);
    const data = patternBuffer(200_000);
    const entry = await granted(spool, data, 'x.bin', sha(Buffer.from('something else')));
    let announced = false;
    spool.events.on('file-ready', () => { announced = true; });
    let err: unknown;
    try { await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(ProxyProtocolError);
    expect((err as ProxyProtocolError).reason).to.equal('sha256_mismatch');
    expect(announced).to.equal(false);
    expect(server.drops.get('file_bad_digest')).to.equal(1);
    expect(await readdir(dir)).to.deep.equal([]);
    // Not downloadable either.
    const r = await within(rawExchange(HOST, port, `GET ${entry.id} ${entry.passkey.toString('hex')}\n`, sockets), 5000, 'get');
    expect(r.received).to.match(/^ERR [^\n]+\n$/);
  });

  it('refuses more than SIZE bytes and an early end, and keeps nothing', async () => {
    const { spool, server, dir, port } = await setup(HOST);
    const data = patternBuffer(100_000);
    const entry = await granted(spool, data);
    const more = await within(rawExchange(HOST, port, `PUT ${entry.id} ${entry.passkey.toString('hex')}\n${data.toString('latin1')}xyz`, sockets), 5000, 'too many');
    expect(more.received).to.match(/^ERR [^\n]+\n$/);
    expect(server.drops.get('file_too_many_bytes')).to.equal(1);
    let err: unknown;
    try { await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data.subarray(0, 5000)); } catch (e) { err = e; }
    expect((err as ProxyProtocolError).reason).to.equal('early_end');
    expect(await readdir(dir)).to.deep.equal([]);
    // The grant is still usable for a correct upload.
    expect(await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data)).to.equal(sha(data).toString('hex'));
  });

  it('never uses the client NAME as a path (../../etc/passwd is harmless)', async () => {
    const { spool, dir, port } = await setup(HOST);
    const data = Buffer.from('not a password file\n');
    const entry = await granted(spool, data, '../../etc/passwd');
    await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data);
    expect(dirname(entry.path)).to.equal(dir);
    expect(entry.path).to.not.contain('passwd');
    const files = await readdir(dir);
    expect(files).to.have.length(1);
    expect(files[0]).to.match(/^rflx-\d+-[0-9a-f]{12}-[0-9a-f]{8}$/);
    expect(entry.name).to.equal('../../etc/passwd');
  });

  it('answers ERR to a wrong passkey, an unknown id, an offset beyond the size and a malformed line', async () => {
    const { spool, port } = await setup(HOST);
    const data = patternBuffer(1000);
    const entry = await granted(spool, data);
    await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data);
    const key = entry.passkey.toString('hex');
    const cases = [
      `GET ${entry.id} ${'0'.repeat(32)}\n`,
      `GET ${(entry.id ^ 1) >>> 0} ${key}\n`,
      `GET ${entry.id} ${key} 1001\n`,
      `GET ${entry.id} ${key} -1\n`,
      `HELLO\n`,
      `PUT ${entry.id} ${key} 5\n`,
    ];
    for (const c of cases) {
      const r = await within(rawExchange(HOST, port, c, sockets), 5000, c);
      expect(r.received, c).to.match(/^ERR [^\n]+\n$/);
    }
  });

  it('refuses a grant over FILE_MAX_BYTES (413) or beyond free space (507)', async () => {
    const { spool } = await setup(HOST, { maxBytes: 1000, freeBytes: 1500 });
    const big = await spool.grant({ session: 's', name: 'a', size: 1001n, sha256: Buffer.alloc(32), sender: 'u' });
    expect(big.ok).to.equal(false);
    if (!big.ok) expect(big.code).to.equal(413);
    const first = await spool.grant({ session: 's', name: 'a', size: 1000n, sha256: Buffer.alloc(32), sender: 'u' });
    expect(first.ok).to.equal(true);
    const second = await spool.grant({ session: 's', name: 'b', size: 600n, sha256: Buffer.alloc(32), sender: 'u' });
    expect(second.ok).to.equal(false);
    if (!second.ok) expect(second.code).to.equal(507);
  });

  it('deletes files after FILE_TTL, leaving the spool empty', async () => {
    const { spool, dir, port } = await setup(HOST, { ttlMs: 400 });
    const data = patternBuffer(50_000);
    const entry = await granted(spool, data);
    const removed = new Promise<string>((resolve) => spool.events.once('file-removed', (_e, reason) => resolve(reason)));
    await putFile({ host: HOST, port }, { id: entry.id, passkey: entry.passkey }, data);
    expect(await readdir(dir)).to.have.length(1);
    expect(await within(removed, 3000, 'ttl')).to.equal('ttl');
    expect(await readdir(dir)).to.deep.equal([]);
    expect(spool.list()).to.deep.equal([]);
  });

  it('relays a peer file: fetched from the origin while served, cached, resumable, SHA-256 verified', async () => {
    const origin = await setup(HOST);
    const relay = await setup(PEER_HOST);
    const data = patternBuffer(6 * 1024 * 1024 + 5);
    const entry = await granted(origin.spool, data);
    await putFile({ host: HOST, port: origin.port }, { id: entry.id, passkey: entry.passkey }, data);
    const remote = relay.spool.addRemote(
      { id: entry.id, passkey: entry.passkey, session: 'weekly', name: entry.name, size: entry.size, sha256: entry.sha256, sender: 'u1' },
      { peerKey: `${HOST}:5564`, address: HOST, port: origin.port },
    );
    expect(remote).to.not.equal(null);
    const cred = { id: entry.id, passkey: entry.passkey };
    // Two downloads at once: one whole, one from an offset; one fetch from the origin.
    const offset = 4_000_000;
    const [whole, tail] = await within(Promise.all([
      getFile({ host: PEER_HOST, port: relay.port }, cred),
      getFile({ host: PEER_HOST, port: relay.port }, cred, { offset }),
    ]), 20000, 'relayed downloads');
    expect(whole.receivedSha256).to.equal(sha(data).toString('hex'));
    expect(tail.receivedSha256).to.equal(sha(data.subarray(offset)).toString('hex'));
    expect(relay.server.counters.fetches).to.equal(1);
    expect(remote?.state).to.equal('ready');
    // Cut short, then resumed from where it stopped.
    const part = await getFile({ host: PEER_HOST, port: relay.port }, cred, { maxBytes: 1_500_000 });
    expect(part.bytes).to.equal(1_500_000);
    const rest = await getFile({ host: PEER_HOST, port: relay.port }, cred, { offset: part.bytes });
    expect(rest.bytes).to.equal(data.length - part.bytes);
    expect(rest.receivedSha256).to.equal(sha(data.subarray(part.bytes)).toString('hex'));
    expect(relay.server.counters.fetches).to.equal(1);
    expect((await readFile(remote?.path ?? '')).equals(data)).to.equal(true);
  });

  it('refuses to serve a peer file whose origin bytes do not match the announced digest', async () => {
    const origin = await setup(HOST);
    const relay = await setup(PEER_HOST);
    const data = patternBuffer(300_000);
    const entry = await granted(origin.spool, data);
    await putFile({ host: HOST, port: origin.port }, { id: entry.id, passkey: entry.passkey }, data);
    const wrong = sha(Buffer.from('tampered'));
    relay.spool.addRemote(
      { id: entry.id, passkey: entry.passkey, session: 'weekly', name: 'x', size: entry.size, sha256: wrong, sender: 'u1' },
      { peerKey: `${HOST}:5564`, address: HOST, port: origin.port },
    );
    let err: unknown;
    try { await getFile({ host: PEER_HOST, port: relay.port }, { id: entry.id, passkey: entry.passkey }); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(ProxyProtocolError);
    expect(await readdir(relay.dir)).to.deep.equal([]);
  });
});
