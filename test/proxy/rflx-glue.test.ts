/**
 * The RFLX layer of the proxy with the real reflector core on 127.0.4.30:
 * participants (UDP clients joined through the core's API, as SIP does) request
 * shares and files from their RTCP sockets, get grants, errors and announcements.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { Config } from '../../src/config/types.js';
import type { Proxy } from '../../src/proxy/index.js';
import { encodeRflx } from '../../src/rtp/rflx.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import {
  announced,
  collect,
  getFile,
  openView,
  ProxyProtocolError,
  putFile,
  RflxRequestError,
  shareStream,
} from '../../tools/lib/proxy-client.js';
import { rtcpRr, type TestCore } from '../reflector/fixture.js';
import { waitUntil } from '../helpers/wait.js';
import { patternBuffer, patternChunks, patternSha256, useProxyHarness, within, type Participant, type ProxyReflector } from './harness.js';

const R = '127.0.4.30';
const AUDIO = 5566;
const SESSION = 'weekly review';

function ip(n: number): string {
  return `127.0.4.${n}`;
}

function sha(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

describe('proxy RFLX requests and announcements with the real core (SPEC §7–§9)', () => {
  const h = useProxyHarness();
  const sockets = h.sockets;
  let at: ProxyReflector | null = null;
  let spoolDir = '';

  async function setup(overrides: Partial<Config> = {}): Promise<{ core: TestCore; proxy: Proxy }> {
    at = await h.reflector(R, {
      config: {
        appshareServerPorts: { first: 23000, last: 23003 },
        appshareClientPorts: { first: 23100, last: 23103 },
        fileTransferPort: 23200,
        ...overrides,
      },
      proxy: { share: { handshakeTimeoutMs: 2000, viewerBufferBytes: 64 * 1024 * 1024 } },
    });
    spoolDir = at.spool;
    return { core: at.core, proxy: at.proxy };
  }

  async function participant(n: number, ack = true): Promise<Participant> {
    if (at === null) throw new Error('setup() first');
    return h.participant(at, ip(n), { session: SESSION, ssrc: 0x1000 + n, user: `u${n}`, ack });
  }

  it('grants a share once per REQUEST_ID, announces it to every participant, streams it, and ends it', async () => {
    const { proxy: p } = await setup();
    const u1 = await participant(131);
    const u2 = await participant(132);
    const u3 = await participant(133);
    const grant = await u1.rflx.requestShare('slides', { requestId: 77 });
    expect(grant.address).to.equal(R);
    expect(grant.port).to.be.within(23000, 23003);
    // A retransmission gets the same answer and allocates nothing.
    const again = await u1.rflx.requestShare('slides', { requestId: 77 });
    expect(again.shareId).to.equal(grant.shareId);
    expect(again.passkey.equals(grant.passkey)).to.equal(true);
    expect(p.shares()).to.have.length(1);
    expect(p.stats().requests).to.equal(1);

    // Not announced before the sharer connected.
    const sharer = { host: grant.address, port: grant.port };
    const cred = { id: grant.shareId, passkey: grant.passkey };
    const total = 5 * 1024 * 1024;
    // The sharer authenticates; the announcement follows; viewers connect; then the bytes flow.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    async function* gated(): AsyncGenerator<Buffer> {
      await gate;
      yield* patternChunks(total);
    }
    const sharing = shareStream(sharer, cred, gated());
    const anns = await within(Promise.all([u1, u2, u3].map((u) => u.rflx.shareAnnounce(grant.shareId))), 5000, 'announcements');
    for (const a of anns) {
      expect(a.fields.address).to.equal(R);
      expect(a.fields.port).to.be.within(23100, 23103);
      expect(a.fields.sharer).to.equal('u131');
      expect(a.fields.title).to.equal('slides');
    }
    const viewers = await Promise.all([u2, u3].map(() => openView(announced(anns[1]).target, announced(anns[1]).cred)));
    viewers.forEach((v) => sockets.add(v));
    const results = viewers.map((v) => collect(v));
    release();
    await within(sharing, 20000, 'sharer');
    const got = await within(Promise.all(results), 20000, 'viewers');
    for (const r of got) expect(r.sha256).to.equal(patternSha256(total));
    await within(Promise.all([u1, u2, u3].map((u) => u.rflx.shareEnd(grant.shareId))), 5000, 'SHARE_END');
    expect(p.shares()).to.deep.equal([]);
  });

  it('answers ERROR 503 when the share port pool is exhausted', async () => {
    await setup({ appshareServerPorts: { first: 23010, last: 23010 } });
    const u1 = await participant(134);
    await u1.rflx.requestShare('one');
    let err: unknown;
    try { await u1.rflx.requestShare('two'); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(RflxRequestError);
    expect((err as RflxRequestError).code).to.equal(503);
  });

  it('announces a verified file to every participant, never one with a wrong SHA256, and serves it', async () => {
    const { proxy: p } = await setup();
    const u1 = await participant(135);
    const u2 = await participant(136);
    const data = patternBuffer(2 * 1024 * 1024 + 3);

    const bad = await u1.rflx.requestFile('bad.bin', data.length, sha(Buffer.from('other')));
    let err: unknown;
    try { await putFile({ host: bad.address, port: bad.port }, { id: bad.fileId, passkey: bad.passkey }, data); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(ProxyProtocolError);

    const good = await u1.rflx.requestFile('../../etc/passwd', data.length, sha(data));
    expect(good.port).to.equal(23200);
    expect(await putFile({ host: good.address, port: good.port }, { id: good.fileId, passkey: good.passkey }, data)).to.equal(sha(data).toString('hex'));
    const anns = await within(Promise.all([u1, u2].map((u) => u.rflx.fileAnnounce(good.fileId))), 5000, 'FILE_ANNOUNCE');
    const f = anns[1].fields;
    expect(f.name).to.equal('../../etc/passwd');
    expect(f.size).to.equal(BigInt(data.length));
    expect(f.sha256?.equals(sha(data))).to.equal(true);
    expect(f.sender).to.equal('u135');
    // Announcements arrive in order: the bad upload was never announced.
    for (const u of [u1, u2]) {
      expect(u.rflx.received.some((r) => r.message.subtype === RflxSubtype.FileAnnounce && r.message.fields.fileId === bad.fileId)).to.equal(false);
    }
    const { target, cred } = announced(anns[1]);
    const dl = await getFile(target, cred);
    expect(dl.receivedSha256).to.equal(sha(data).toString('hex'));
    expect(p.files().map((x) => x.id)).to.include(good.fileId);
    expect(await readdir(spoolDir)).to.have.length(1);
  });

  it('refuses a file over FILE_MAX_BYTES with ERROR 413 and a malformed request with 400', async () => {
    await setup({ fileMaxBytes: 1000 });
    const u1 = await participant(137);
    let err: unknown;
    try { await u1.rflx.requestFile('big', 1001, Buffer.alloc(32)); } catch (e) { err = e; }
    expect((err as RflxRequestError).code).to.equal(413);
    const answer = u1.rflx.waitFor((m) => m.subtype === RflxSubtype.Error && m.fields.requestId === 9);
    await u1.rflx.send(RflxSubtype.FileRequest, { requestId: 9, name: 'x' });
    expect((await answer).fields.code).to.equal(400);
  });

  it('gives a participant whose RTCP latches later every share and file still available', async () => {
    await setup();
    const u1 = await participant(138);
    const grant = await u1.rflx.requestShare('late');
    let finishSharing: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { finishSharing = resolve; });
    const sharing = shareStream({ host: grant.address, port: grant.port }, { id: grant.shareId, passkey: grant.passkey }, (async function* () {
      await held;
      yield Buffer.from('bye');
    })());
    await u1.rflx.shareAnnounce(grant.shareId);
    const data = patternBuffer(1000);
    const fg = await u1.rflx.requestFile('notes.txt', data.length, sha(data));
    await putFile({ host: fg.address, port: fg.port }, { id: fg.fileId, passkey: fg.passkey }, data);
    await u1.rflx.fileAnnounce(fg.fileId);

    // u4 joins without a confirmed address: nothing can be sent to it until its RTCP latches.
    const u4 = await participant(139, false);
    expect(u4.rflx.received).to.have.length(0);
    await u4.client.rtcp.send(rtcpRr(0x1000 + 139), AUDIO + 1, R);
    await within(u4.rflx.shareAnnounce(grant.shareId), 5000, 'late share announce');
    await within(u4.rflx.fileAnnounce(fg.fileId), 5000, 'late file announce');
    finishSharing();
    await sharing;
  });

  it('removes files when the session ends', async () => {
    const { core: c, proxy: p } = await setup();
    const u1 = await participant(140);
    const data = patternBuffer(4000);
    const fg = await u1.rflx.requestFile('a', data.length, sha(data));
    await putFile({ host: fg.address, port: fg.port }, { id: fg.fileId, passkey: fg.passkey }, data);
    expect(await readdir(spoolDir)).to.have.length(1);
    c.leave(u1.client.id, 'bye');
    await waitUntil(() => p.files().length === 0, 3000, 'session end removes the file');
    await waitUntil(async () => (await readdir(spoolDir)).length === 0, 3000, 'spool empty');
  });

  it('ignores RFLX messages of other subtypes from participants and counts them', async () => {
    const { proxy: p } = await setup();
    const u1 = await participant(141);
    await u1.client.rtcp.send(encodeRflx({ subtype: RflxSubtype.ShareAnnounce, ssrc: 1, fields: { shareId: 1 } }), AUDIO + 1, R);
    // A normal request afterwards is answered; the bogus one before it was counted.
    await u1.rflx.requestShare('after');
    expect(p.stats().proxy_unexpected_subtype).to.equal(1);
  });

  it('limits the shares one participant may hold', async () => {
    const { proxy: p } = await setup({ appshareServerPorts: { first: 23020, last: 23029 }, appshareClientPorts: { first: 23120, last: 23129 } });
    const u1 = await participant(142);
    for (let i = 0; i < 4; i++) await u1.rflx.requestShare(`s${i}`);
    let err: unknown;
    try { await u1.rflx.requestShare('one too many'); } catch (e) { err = e; }
    expect((err as RflxRequestError).code).to.equal(503);
    expect(p.stats().proxy_participant_limit).to.equal(1);
    const u2 = await participant(143);
    await u2.rflx.requestShare('another participant is not limited by u1');
  });
});
