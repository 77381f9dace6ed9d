import { expect } from 'chai';
import { connect } from 'node:net';
import { newPasskey } from '../../src/proxy/passkey.js';
import type { ShareHub } from '../../src/proxy/share-hub.js';
import type { ShareInfo } from '../../src/proxy/share-types.js';
import { collect, openShare, openView, ProxyProtocolError, shareStream, viewShare } from '../../tools/lib/proxy-client.js';
import { patternChunks, patternSha256, rawExchange, useProxyHarness, within } from './harness.js';

const HOST = '127.0.4.10';
const PEER_HOST = '127.0.4.11';

function info(id: number): ShareInfo {
  return { id, session: 'weekly', title: 'slides', sharer: 'u1', passkey: newPasskey() };
}

describe('proxy share hub (SPEC §8)', () => {
  const t = useProxyHarness();
  const sockets = t.sockets;

  function hub(host: string, base: number, tunables = {}): ShareHub {
    return t.shareHub({
      host,
      serverPorts: { first: base, last: base + 3 },
      clientPorts: { first: base + 10, last: base + 13 },
      tunables,
    });
  }

  it('copies a deterministic 8 MB stream to three viewers byte for byte, then closes them when the sharer leaves', async () => {
    // A bound above the stream's size: on a loaded machine no viewer may be dropped for lagging.
    const h = hub(HOST, 21000, { viewerBufferBytes: 64 * 1024 * 1024 });
    const share = await h.createLocal(info(101));
    expect(share).to.not.equal(null);
    if (share === null) return;
    const cred = { id: share.info.id, passkey: share.info.passkey };
    const viewers = await Promise.all([0, 1, 2].map(() => openView({ host: HOST, port: share.clientPort }, cred)));
    viewers.forEach((v) => sockets.add(v));
    const results = viewers.map((v) => collect(v));
    const ended = new Promise<string>((resolve) => h.events.once('share-ended', (_s, reason) => resolve(reason)));
    const live = new Promise<number>((resolve) => h.events.once('share-live', (s) => resolve(s.info.id)));
    const total = 8 * 1024 * 1024;
    const sent = await within(shareStream({ host: HOST, port: share.serverPort }, cred, patternChunks(total)), 20000, 'sharer');
    expect(sent).to.equal(total);
    expect(await within(live, 1000, 'share-live')).to.equal(101);
    const got = await within(Promise.all(results), 20000, 'viewers');
    const expected = patternSha256(total);
    for (const r of got) {
      expect(r.bytes).to.equal(total);
      expect(r.sha256).to.equal(expected);
    }
    expect(await within(ended, 2000, 'share-ended')).to.equal('sharer_closed');
    expect(h.has(101)).to.equal(false);
    expect(h.counters.bytesIn).to.equal(total);
  });

  it('disconnects a viewer that stops reading while the others get every byte', async () => {
    const h = hub(HOST, 21020, { viewerBufferBytes: 512 * 1024 });
    const share = await h.createLocal(info(102));
    if (share === null) throw new Error('no share');
    const cred = { id: share.info.id, passkey: share.info.passkey };
    const target = { host: HOST, port: share.clientPort };
    const slow = await openView(target, cred);
    sockets.add(slow);
    const slowAddress = `${slow.localAddress}:${slow.localPort}`;
    const dropped: string[] = [];
    h.events.on('viewer-dropped', (_id, viewer) => dropped.push(viewer));
    // `slow` stays paused: it never reads.
    const fast = await Promise.all([openView(target, cred), openView(target, cred)]);
    fast.forEach((v) => sockets.add(v));
    // The fast viewers' progress paces the test's sharer (one chunk ahead at most), so they never
    // fall behind by the bound however loaded the machine is; the slow one falls behind for sure.
    const counts = [0, 0];
    let wake: (() => void) | null = null;
    fast.forEach((v, i) => v.on('data', (c: Buffer) => { counts[i] += c.length; wake?.(); }));
    const results = fast.map((v) => collect(v));
    const total = 48 * 1024 * 1024;
    let sent = 0;
    async function* paced(): AsyncGenerator<Buffer> {
      for (const chunk of patternChunks(total)) {
        // Bounded: each pass waits for the fast viewers' next bytes (or the outer `within` gives up).
        while (Math.min(counts[0], counts[1]) < sent) await new Promise<void>((resolve) => { wake = resolve; });
        wake = null;
        sent += chunk.length;
        yield chunk;
      }
    }
    await within(shareStream({ host: HOST, port: share.serverPort }, cred, paced()), 60000, 'sharer');
    const got = await within(Promise.all(results), 60000, 'fast viewers');
    const expected = patternSha256(total);
    for (const r of got) {
      expect(r.bytes).to.equal(total);
      expect(r.sha256).to.equal(expected);
    }
    expect(h.drops.get('share_slow_viewer')).to.equal(1);
    // Reading now, the slow viewer finds its connection closed well before the end of the stream.
    const slowGot = await within(collect(slow), 10000, 'slow viewer closed');
    expect(slowGot.bytes).to.be.below(total);
    expect(h.counters.viewersDropped).to.equal(1);
    expect(dropped, 'the drop is reported (the proxy logs share_viewer_dropped)').to.deep.equal([slowAddress]);
  });

  it('answers a wrong passkey with ERR and nothing else, on both ports', async () => {
    const h = hub(HOST, 21040);
    const share = await h.createLocal(info(103));
    if (share === null) throw new Error('no share');
    const wrong = newPasskey().toString('hex');
    const v = await within(rawExchange(HOST, share.clientPort, `VIEW 103 ${wrong}\n`, sockets), 5000, 'viewer');
    expect(v.received).to.match(/^ERR [^\n]+\n$/);
    const s = await within(rawExchange(HOST, share.serverPort, `SHARE 103 ${wrong}\r\n`, sockets), 5000, 'sharer');
    expect(s.received).to.match(/^ERR [^\n]+\n$/);
    // The right passkey for another id is refused too.
    const other = await within(rawExchange(HOST, share.clientPort, `VIEW 104 ${share.info.passkey.toString('hex')}\n`, sockets), 5000, 'other id');
    expect(other.received).to.match(/^ERR [^\n]+\n$/);
    expect(h.drops.get('share_denied')).to.equal(3);
    let err: unknown;
    try { await openView({ host: HOST, port: share.clientPort }, { id: 103, passkey: wrong }); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(ProxyProtocolError);
    expect(share.live).to.equal(false);
  });

  it('accepts \\r\\n and rejects an over-long line', async () => {
    const h = hub(HOST, 21060);
    const share = await h.createLocal(info(105));
    if (share === null) throw new Error('no share');
    const long = await within(rawExchange(HOST, share.clientPort, 'VIEW ' + 'x'.repeat(400), sockets), 5000, 'long line');
    expect(long.received).to.match(/^ERR [^\n]+\n$/);
    expect(h.drops.get('share_line_too_long')).to.equal(1);
    const key = share.info.passkey.toString('hex');
    const viewer = await openView({ host: HOST, port: share.clientPort }, { id: 105, passkey: key });
    sockets.add(viewer);
    const got = new Promise<string>((resolve) => viewer.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    viewer.resume();
    const sharer = connect({ host: HOST, port: share.serverPort });
    sockets.add(sharer);
    sharer.on('error', () => undefined);
    const answer = new Promise<string>((resolve) => sharer.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    sharer.write(`SHARE 105 ${key}\r\nhello`);
    expect(await within(answer, 5000, 'sharer answer')).to.equal('OK\n');
    expect(await within(got, 5000, 'viewer data')).to.equal('hello');
  });

  it('closes an idle unauthenticated connection at the handshake deadline', async () => {
    const h = hub(HOST, 21080, { handshakeTimeoutMs: 300 });
    const share = await h.createLocal(info(106));
    if (share === null) throw new Error('no share');
    const r = await within(rawExchange(HOST, share.serverPort, null, sockets), 5000, 'idle close');
    expect(r.elapsedMs).to.be.at.least(250);
    expect(r.received).to.match(/^(ERR [^\n]+\n)?$/);
    expect(h.drops.get('share_handshake_timeout')).to.equal(1);
  });

  it('returns null when a pool is exhausted and reuses ports after a share ends', async () => {
    const h = t.shareHub({ host: HOST, serverPorts: { first: 21100, last: 21100 }, clientPorts: { first: 21110, last: 21111 } });
    const a = await h.createLocal(info(201));
    expect(a).to.not.equal(null);
    expect(await h.createLocal(info(202))).to.equal(null);
    a?.end('test');
    const c = await h.createLocal(info(203));
    expect(c?.serverPort).to.equal(21100);
  });

  it('ends an unused grant after the grant timeout', async () => {
    const h = hub(HOST, 21120, { grantTimeoutMs: 200 });
    const ended = new Promise<string>((resolve) => h.events.once('share-ended', (_s, reason) => resolve(reason)));
    await h.createLocal(info(107));
    expect(await within(ended, 3000, 'grant expiry')).to.equal('unused');
  });

  it('proxies a viewer through a peer hub to the origin (SPEC §8.5)', async () => {
    const origin = hub(HOST, 21140, { viewerBufferBytes: 64 * 1024 * 1024 });
    const relay = hub(PEER_HOST, 21140);
    const share = await origin.createLocal(info(108));
    if (share === null) throw new Error('no share');
    const remote = await relay.createRemote({ ...share.info }, { peerKey: `${HOST}:5564`, address: HOST, port: share.clientPort });
    if (remote === null) throw new Error('no remote share');
    const cred = { id: 108, passkey: share.info.passkey };
    const total = 4 * 1024 * 1024;
    const direct = openView({ host: HOST, port: share.clientPort }, cred);
    const proxied = openView({ host: PEER_HOST, port: remote.clientPort }, cred);
    const [d, p] = await Promise.all([direct, proxied]);
    sockets.add(d); sockets.add(p);
    const results = [collect(d), collect(p)];
    const sharer = await openShare({ host: HOST, port: share.serverPort }, cred);
    sockets.add(sharer);
    for (const c of patternChunks(total)) sharer.write(c);
    sharer.end();
    const got = await within(Promise.all(results), 20000, 'viewers');
    expect(got[0].sha256).to.equal(patternSha256(total));
    expect(got[1].sha256).to.equal(patternSha256(total));
    expect(got[1].bytes).to.equal(total);
    // A wrong passkey is refused by the relay itself.
    const bad = await within(rawExchange(PEER_HOST, remote.clientPort, `VIEW 108 ${newPasskey().toString('hex')}\n`, sockets), 5000, 'bad');
    expect(bad.received).to.match(/^ERR [^\n]+\n$/);
    void viewShare;
  });
});
