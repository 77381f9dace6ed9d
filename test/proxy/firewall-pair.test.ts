/**
 * Issue 5, the firewall pair in one process: R2 (internal, 127.0.4.2) and R1
 * (external, 127.0.4.3), each with the real core, interconnect and proxy, peers
 * of each other. u1 on R2 shares 20 MB; u2 on R2 and u3, u4 on R1 view (u3 and
 * u4 through R1's proxy). A 50 MB file from u3 on R1 is downloaded by u1 on R2
 * through R2's file relay, cut short and resumed.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { RflxMessage } from '../../src/rtp/rflx-types.js';
import { announced, collect, getFile, openShare, openView, putFile, shareStream } from '../../tools/lib/proxy-client.js';
import { waitUntil } from '../helpers/wait.js';
import { patternBuffer, patternChunks, patternSha256, useProxyHarness, within, type Participant, type PeeredReflector, type ProxyReflector } from './harness.js';

const R2 = '127.0.4.2';
const R1 = '127.0.4.3';
const RELAY_PORT = 5564;
const FILE_PORT = 5565;
const SESSION = 'issue 5';
const FAST = { helloMs: 150, refreshMs: 300 };

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('proxy across a firewall pair (issue 5): share and file relay R2 ⇄ R1', function () {
  this.timeout(90_000);
  const h = useProxyHarness();
  const sockets = h.sockets;

  function side(address: string, peer: string): Promise<PeeredReflector> {
    return h.reflector(address, {
      peers: [peer],
      relayPort: RELAY_PORT,
      timing: FAST,
      config: {
        appshareServerPorts: { first: 24000, last: 24009 },
        appshareClientPorts: { first: 24100, last: 24109 },
        fileTransferPort: FILE_PORT,
        fileMaxBytes: 64 * 1024 * 1024,
      },
      // A viewer bound above the share's size: on a loaded machine no viewer (or relay) is dropped for lagging.
      proxy: { share: { viewerBufferBytes: 64 * 1024 * 1024 } },
    });
  }

  function user(n: number, at: ProxyReflector): Promise<Participant> {
    return h.participant(at, `127.0.4.${n}`, { session: SESSION, ssrc: 0x5000 + n, user: `u${n - 200}` });
  }

  it('u1 on R2 shares 20 MB to u2 on R2 and u3, u4 on R1; u1 downloads u3\'s 50 MB file through R2, resuming', async () => {
    const r2 = await side(R2, R1);
    const r1 = await side(R1, R2);
    const u1 = await user(201, r2);
    const u2 = await user(202, r2);
    const u3 = await user(203, r1);
    const u4 = await user(204, r1);
    await waitUntil(() => r1.link.remoteCount(SESSION) === 2 && r2.link.remoteCount(SESSION) === 2, 5000, 'both reflectors see the others');

    // ── Application sharing ──
    const grant = await u1.rflx.requestShare('demo');
    expect(grant.address).to.equal(R2);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const total = 20 * 1024 * 1024;
    const sharing = shareStream({ host: grant.address, port: grant.port }, { id: grant.shareId, passkey: grant.passkey }, (async function* () {
      await gate;
      yield* patternChunks(total);
    })());
    const anns: RflxMessage[] = await within(Promise.all([u1, u2, u3, u4].map((u) => u.rflx.shareAnnounce(grant.shareId))), 5000, 'SHARE_ANNOUNCE everywhere');
    // Each reflector announces its own address and client port; id and passkey travel unchanged.
    expect(anns.map((a) => a.fields.address)).to.deep.equal([R2, R2, R1, R1]);
    for (const a of anns) {
      expect(a.fields.passkey?.equals(grant.passkey)).to.equal(true);
      expect(a.fields.sharer).to.equal('u1');
    }
    const remote = r1.proxy.shares().find((s) => s.id === grant.shareId);
    expect(remote?.origin).to.equal('peer');
    expect(anns[2].fields.port).to.equal(remote?.clientPort);

    const viewers = await Promise.all([1, 2, 3].map((i) => openView(announced(anns[i]).target, announced(anns[i]).cred)));
    viewers.forEach((v) => sockets.add(v));
    const results = viewers.map((v) => collect(v));
    release();
    expect(await within(sharing, 60000, 'sharer')).to.equal(total);
    const got = await within(Promise.all(results), 60000, 'viewers');
    const expected = patternSha256(total);
    for (const r of got) {
      expect(r.bytes).to.equal(total);
      expect(r.sha256).to.equal(expected);
    }
    await within(Promise.all([u1, u2, u3, u4].map((u) => u.rflx.shareEnd(grant.shareId))), 5000, 'SHARE_END everywhere');
    await waitUntil(() => r1.proxy.shares().length === 0 && r2.proxy.shares().length === 0, 5000, 'shares gone on both');

    // ── File relay ──
    const size = 50 * 1024 * 1024;
    const data = patternBuffer(size, 0xbeef);
    const digest = createHash('sha256').update(data).digest();
    const fg = await u3.rflx.requestFile('big.bin', size, digest);
    expect(fg.address).to.equal(R1);
    expect(await within(putFile({ host: fg.address, port: fg.port }, { id: fg.fileId, passkey: fg.passkey }, data), 60000, 'upload')).to.equal(digest.toString('hex'));
    const fanns = await within(Promise.all([u1, u2, u3, u4].map((u) => u.rflx.fileAnnounce(fg.fileId))), 5000, 'FILE_ANNOUNCE everywhere');
    expect(fanns.map((a) => a.fields.address)).to.deep.equal([R2, R2, R1, R1]);
    expect(fanns.map((a) => a.fields.port)).to.deep.equal([FILE_PORT, FILE_PORT, FILE_PORT, FILE_PORT]);
    expect(fanns[0].fields.size).to.equal(BigInt(size));
    expect(fanns[0].fields.sender).to.equal('u3');

    const { target, cred } = announced(fanns[0]);
    expect(target.host).to.equal(R2);
    const dest = join(r2.spool, 'u1-download.part');
    const first = await within(getFile(target, cred, { dest, maxBytes: 20 * 1024 * 1024 + 7 }), 60000, 'first part');
    expect(first.total).to.equal(size);
    expect(first.bytes).to.equal(20 * 1024 * 1024 + 7);
    const rest = await within(getFile(target, cred, { dest, offset: first.bytes }), 60000, 'resumed part');
    expect(rest.bytes).to.equal(size - first.bytes);
    expect(await fileSha256(dest)).to.equal(digest.toString('hex'));
    const cached = r2.proxy.files().find((f) => f.id === fg.fileId);
    expect(cached?.origin).to.equal('peer');
    await waitUntil(() => r2.proxy.files().find((f) => f.id === fg.fileId)?.state === 'ready', 10000, 'R2 cached and verified the file');
    expect(r2.proxy.stats().file_fetches).to.equal(1);

    // ── Session end: every participant leaves; files are deleted on both reflectors ──
    for (const u of [u1, u2]) r2.core.leave(u.client.id, 'bye');
    for (const u of [u3, u4]) r1.core.leave(u.client.id, 'bye');
    await waitUntil(() => r1.proxy.files().length === 0 && r2.proxy.files().length === 0, 10000, 'files removed with the session');
    await waitUntil(async () => (await readdir(r1.spool)).length === 0, 5000, 'R1 spool empty');
    await waitUntil(async () => (await readdir(r2.spool)).filter((n) => n.startsWith('rflx-')).length === 0, 5000, 'R2 spool empty');
  });

  it('announces a live share to a peer whose first participant joins later, and ends it everywhere on shutdown', async () => {
    const r2 = await side(R2, R1);
    const r1 = await side(R1, R2);
    const u1 = await user(201, r2);
    const grant = await u1.rflx.requestShare('late peer');
    const sharer = await openShareSocket(grant);
    await u1.rflx.shareAnnounce(grant.shareId);
    expect(r1.proxy.shares()).to.deep.equal([]);
    // u3 joins R1: R1's count reaches R2, which then announces the share to R1 (18), and R1 to u3.
    const u3 = await user(203, r1);
    const ann = await within(u3.rflx.shareAnnounce(grant.shareId), 5000, 'announcement at the late peer');
    expect(ann.fields.address).to.equal(R1);
    const viewer = await openView(announced(ann).target, announced(ann).cred);
    sockets.add(viewer);
    const result = collect(viewer);
    sharer.write('hello through the firewall');
    await waitUntil(() => (r1.proxy.stats().share_bytes_out ?? 0) >= 26, 5000, 'bytes relayed');
    // R2 shuts down: its participants get SHARE_END, R1 gets 19 and tells u3.
    await r2.proxy.close();
    await within(u1.rflx.shareEnd(grant.shareId), 5000, 'SHARE_END at R2');
    await within(u3.rflx.shareEnd(grant.shareId), 5000, 'SHARE_END at R1');
    const got = await within(result, 5000, 'viewer closed');
    expect(got.bytes).to.equal(26);
    await waitUntil(() => r1.proxy.shares().length === 0, 5000, 'proxied share gone');
    await r2.link.close();
    await r2.core.close();
  });

  async function openShareSocket(grant: { address: string; port: number; shareId: number; passkey: Buffer }): Promise<Socket> {
    const s = await openShare({ host: grant.address, port: grant.port }, { id: grant.shareId, passkey: grant.passkey });
    sockets.add(s);
    return s;
  }
});
