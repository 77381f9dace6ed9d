/**
 * Announcements from a peer (SPEC §7 subtypes 18 and 20) are untrusted input:
 * the reflector stores and re-announces them to its participants, so their
 * texts are bounded as a client's are (TEXT_MAX_BYTES), their session name is
 * one a session can have, and a peer cannot make the spool remember files
 * without limit. The peer is a hand-driven raw peer on real UDP sockets; the
 * reflector runs the real core, interconnect and proxy on 127.0.9.20.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Interconnect } from '../../src/interconnect/index.js';
import { MAX_PEER_FILES_PER_PEER, TEXT_MAX_BYTES, type Proxy } from '../../src/proxy/index.js';
import { RflxSubtype, type RflxFields } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import type { RawPeer } from '../interconnect/raw-peer.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.9.20';
const PEER = '127.0.9.21';
const SESSION = 'bounded';

function fileFields(fileId: number, over: RflxFields = {}): RflxFields {
  return {
    session: SESSION, fileId, address: PEER, port: 5565, passkey: randomBytes(16),
    name: 'a.txt', size: 10n, sha256: randomBytes(32), sender: 'someone', ...over,
  };
}

function shareFields(shareId: number, over: RflxFields = {}): RflxFields {
  return { session: SESSION, shareId, address: PEER, port: 6000, passkey: randomBytes(16), sharer: 's', title: 't', ...over };
}

describe('proxy: bounds on what a peer announces (SPEC §7 subtypes 18, 20)', function () {
  this.timeout(30_000);
  const h = useProxyHarness();

  async function setup(): Promise<{ proxy: Proxy; link: Interconnect; peer: RawPeer }> {
    const at = await h.reflector(R, {
      peers: [PEER],
      config: { appshareServerPorts: { first: 26000, last: 26003 }, appshareClientPorts: { first: 26100, last: 26103 } },
    });
    // The peer has participants in the session: its announcements are for a live session.
    const peer = await h.peerInSession(at, PEER, SESSION, 5);
    return { proxy: at.proxy, link: at.link, peer };
  }

  it('refuses a peer FILE_ANNOUNCE or SHARE_ANNOUNCE whose texts are longer than a client may send', async () => {
    const { proxy: p, peer: raw } = await setup();
    const long = 'x'.repeat(TEXT_MAX_BYTES + 1);
    await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, fileFields(1, { name: long }));
    await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, fileFields(2, { sender: long }));
    await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, shareFields(3, { title: long }));
    await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, shareFields(4, { sharer: long }));
    await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, fileFields(5, { session: 'bad\u0001name' }));
    await waitUntil(() => p.stats().proxy_bad_peer_message === 5, 5000, 'five bad peer messages');
    // A well-formed one still gets through.
    await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, fileFields(6));
    await waitUntil(() => p.files().length === 1, 5000, 'the valid file');
    expect(p.files().map((f) => f.id)).to.deep.equal([6]);
    expect(p.shares()).to.deep.equal([]);
  });

  it('keeps at most MAX_PEER_FILES_PER_PEER files of one peer', async () => {
    const { proxy: p, peer: raw } = await setup();
    const extra = 5;
    for (let i = 1; i <= MAX_PEER_FILES_PER_PEER + extra; i++) {
      await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, fileFields(1000 + i));
    }
    await waitUntil(() => p.files().length + (p.stats().proxy_peer_file_refused ?? 0) === MAX_PEER_FILES_PER_PEER + extra,
      10_000, 'every announcement handled');
    expect(p.files()).to.have.length(MAX_PEER_FILES_PER_PEER);
    expect(p.stats().proxy_peer_file_refused).to.equal(extra);
  });

  it('refuses announcements for a session nobody here or at any peer is in', async () => {
    const { proxy: p, peer: raw } = await setup();
    await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, fileFields(7, { session: 'nobody here' }));
    await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, shareFields(8, { session: 'nobody here' }));
    await waitUntil(() => (p.stats().proxy_peer_no_session ?? 0) === 2, 5000, 'two refused');
    expect(p.files()).to.deep.equal([]);
    expect(p.shares()).to.deep.equal([]);
  });
});
