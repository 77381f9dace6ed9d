/**
 * SPEC §14: the reflector opens its TCP connections to a peer (share proxy, file relay) at the peer's
 * CONFIGURED address (its REFLECTOR_INTERCONNECTION line) with the announced PORT; the ADDRESS TLV of
 * subtypes 18 and 20 is informational. A raw peer (127.0.10.21) announces a share and a file whose
 * ADDRESS is a third host (127.0.10.99); TCP servers listen on the announced port at both addresses,
 * and only the one at the configured address may see the proxy's connection. The reflector runs the
 * real core, interconnect and proxy on 127.0.10.20.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { getFile, openView } from '../../tools/lib/proxy-client.js';
import { waitUntil } from '../helpers/wait.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.10.20';
const PEER = '127.0.10.21';
const THIRD = '127.0.10.99';
const SESSION = 'configured';
const ORIGIN_SHARE_PORT = 26260;
const ORIGIN_FILE_PORT = 26261;

interface Origin { server: Server; lines: string[]; sockets: Set<Socket> }

/** A TCP server that records the first line of each connection and answers with `answer(line)`. */
async function origin(address: string, port: number, answer: (line: string, s: Socket) => void): Promise<Origin> {
  const o: Origin = { server: createServer(), lines: [], sockets: new Set() };
  o.server.on('connection', (s) => {
    o.sockets.add(s);
    s.on('close', () => o.sockets.delete(s));
    s.on('error', () => undefined);
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      if (buf.includes('\n')) return;
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl >= 0) { const line = buf.slice(0, nl); o.lines.push(line); answer(line, s); }
    });
  });
  await new Promise<void>((resolve, reject) => { o.server.once('error', reject); o.server.listen(port, address, () => resolve()); });
  return o;
}

describe('proxy: TCP to a peer goes to its configured address, ADDRESS is informational (SPEC §14)', function () {
  this.timeout(30_000);
  const origins: Origin[] = [];
  afterEach(async () => {
    for (const o of origins.splice(0)) {
      for (const s of o.sockets) s.destroy();
      await new Promise<void>((resolve) => o.server.close(() => resolve()));
    }
  });
  // After the origin servers (afterEach hooks run in the order registered).
  const h = useProxyHarness();

  it('a peer announcing a third host still gets the share proxy and the file relay at its configured address', async () => {
    const payload = randomBytes(4096);
    const digest = createHash('sha256').update(payload).digest();
    const shareKey = randomBytes(16);
    const fileKey = randomBytes(16);
    // The real origin at the configured address, and a decoy at the announced third address.
    const realShare = await origin(PEER, ORIGIN_SHARE_PORT, (_l, s) => { s.write('OK\nshared-bytes'); s.end(); });
    const realFile = await origin(PEER, ORIGIN_FILE_PORT, (_l, s) => { s.write(`OK ${payload.length} ${digest.toString('hex')}\n`); s.end(payload); });
    const decoyShare = await origin(THIRD, ORIGIN_SHARE_PORT, (_l, s) => { s.end('OK\ndecoy'); });
    const decoyFile = await origin(THIRD, ORIGIN_FILE_PORT, (_l, s) => { s.end('ERR decoy\n'); });
    origins.push(realShare, realFile, decoyShare, decoyFile);

    const at = await h.reflector(R, {
      peers: [PEER],
      config: { appshareServerPorts: { first: 26200, last: 26203 }, appshareClientPorts: { first: 26210, last: 26213 } },
    });
    const p = at.proxy;
    const raw = await h.peerInSession(at, PEER, SESSION, 7);

    await raw.sendControl(R, RflxSubtype.PeerShareAnnounce, {
      session: SESSION, shareId: 4242, address: THIRD, port: ORIGIN_SHARE_PORT, passkey: shareKey, sharer: 's', title: 't',
    });
    await raw.sendControl(R, RflxSubtype.PeerFileAnnounce, {
      session: SESSION, fileId: 4343, address: THIRD, port: ORIGIN_FILE_PORT, passkey: fileKey,
      name: 'x.bin', size: BigInt(payload.length), sha256: digest, sender: 'u3',
    });
    await waitUntil(() => p.shares().length === 1 && p.files().length === 1, 5000, 'the share and the file to be known');

    // A viewer on the reflector's client port: the proxy connects upstream to PEER, not THIRD.
    const share = p.shares()[0]!;
    const viewer = await openView({ host: R, port: share.clientPort }, { id: 4242, passkey: shareKey });
    const seen: Buffer[] = [];
    viewer.on('data', (c: Buffer) => seen.push(c));
    await new Promise<void>((resolve) => { viewer.once('close', () => resolve()); viewer.resume(); });
    expect(realShare.lines).to.deep.equal([`VIEW 4242 ${shareKey.toString('hex')}`]);
    expect(decoyShare.lines, 'no connection to the announced third host').to.deep.equal([]);
    expect(Buffer.concat(seen).toString()).to.equal('shared-bytes');

    // A download: the file relay fetches from PEER with the announced port.
    const got = await getFile({ host: R, port: p.fileTransferPort() }, { id: 4343, passkey: fileKey }, { timeoutMs: 10_000 });
    expect(got.bytes).to.equal(payload.length);
    expect(got.receivedSha256).to.equal(digest.toString('hex'));
    expect(realFile.lines).to.deep.equal([`GET 4343 ${fileKey.toString('hex')}`]);
    expect(decoyFile.lines, 'no connection to the announced third host').to.deep.equal([]);
  });
});
