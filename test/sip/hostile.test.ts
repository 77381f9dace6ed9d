/**
 * Issue 11, the SIP front end on the hostile Internet (real core, real UDP, digest required as on R1):
 *
 * - an INVITE flood from one address (3000 unauthenticated INVITEs in ~3 s from a raw socket) while
 *   a real caller from another address gets in: the flood creates no server transaction, each
 *   challenge is one datagram no larger than 3x its INVITE, and the answers to the flooder are cut
 *   by its budget;
 * - a spoofed unauthenticated INVITE gets exactly one response: nothing more arrives at the "victim"
 *   for 4.5 s, longer than the first three retransmission intervals of a stateful 401 (T1 = 0.5 s,
 *   then 1 s, 2 s: at 0.5, 1.5 and 3.5 s), so a single retransmission would have been seen;
 * - password guessing spread over 40 source addresses (3 guesses each, under the per-address limit
 *   of 5) is stopped by the per-user backoff after 10 checked guesses; during the backoff even the
 *   right password from a new address is refused unchecked, while the user's own address (where she
 *   authenticated before) still gets in.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { computeHa1, digestResponse, parseChallenge } from '../../src/sip/uas/digest.js';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { waitUntil } from '../helpers/wait.js';
import { startHarness, testConfig, type Harness } from './harness.js';

const SERVER = '127.0.45.1';
const FLOODER = '127.0.45.2';
const CALLER = '127.0.45.3';
const VICTIM = '127.0.45.10';
const REALM = 'sip-test';
const USERS = [{ name: 'alice', password: 'correct horse' }, { name: 'bob', password: 'battery staple' }];

interface Got { readonly data: Buffer; readonly at: number }

async function bindUdp(address: string, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => { s.off('error', reject); resolve(); }); });
  return s;
}

function invite(from: string, port: number, callId: string, extra: string[] = [], user = 'flood'): Buffer {
  const sdp = clientSdp(from, 40_000, 1, 'x');
  return Buffer.from([
    `INVITE sip:room@${SERVER}:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP ${from}:${port};branch=z9hG4bK${callId}`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${from}>;tag=t${callId}`,
    `To: <sip:room@${SERVER}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:${user}@${from}:${port}>`,
    ...extra,
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n'));
}

const statusOf = (b: Buffer): number => Number(/^SIP\/2\.0 (\d{3})/.exec(b.toString('latin1'))?.[1] ?? 0);
const reasonOf = (b: Buffer): string => /^SIP\/2\.0 \d{3} ([^\r]*)/.exec(b.toString('latin1'))?.[1] ?? '';
const pause = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms); });

describe('SIP on the hostile Internet (issue 11)', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  const sockets: dgram.Socket[] = [];
  const clients: SipUdpClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sockets.splice(0)) await new Promise<void>((resolve) => { s.close(() => resolve()); });
    await h?.close();
    h = undefined;
  });

  it('an INVITE flood from one address: no server transactions, bounded answers, and a caller from another address gets in', async () => {
    h = await startHarness(testConfig(SERVER, { sipPort: 5060, sipAuth: true, sipUsers: USERS }));
    const harness = h;
    const flooder = await bindUdp(FLOODER, 5070);
    sockets.push(flooder);
    const answers: Got[] = [];
    flooder.on('message', (data) => { answers.push({ data, at: Date.now() }); });
    const sizes = new Map<string, number>();
    let maxTx = 0;
    const floodStart = Date.now();
    const flood = (async () => {
      for (let tick = 0; tick < 30; tick++) {
        for (let i = 0; i < 100; i++) {
          const id = `f${tick}x${i}${randomBytes(3).toString('hex')}`;
          const m = invite(FLOODER, 5070, id);
          sizes.set(id, m.length);
          flooder.send(m, 5060, SERVER);
        }
        maxTx = Math.max(maxTx, harness.sip.stats().server_transactions ?? 0);
        await pause(100);
      }
    })();
    // A real caller from another address, in the middle of the flood: challenged once, then admitted.
    await pause(1000);
    const caller = new SipUdpClient({ localAddress: CALLER, server: SERVER, serverPort: 5060, user: 'alice', password: 'correct horse' });
    clients.push(caller);
    await caller.bind();
    const call = await caller.invite('room', clientSdp(CALLER, 41_000, 7, 'alice'));
    expect(call.statuses).to.deep.equal([401, 200]);
    await flood;
    await pause(300);
    expect(h.core.snapshot().flatMap((s) => s.participants.map((p) => p.user))).to.deep.equal(['alice']);
    // The flood created no transactions: at most the caller's INVITE was in the table.
    expect(maxTx).to.be.at.most(2);
    // One answer per INVITE at most, each a 401 no larger than 3x its INVITE, and the budget cut the rest.
    const byCallId = new Map<string, number>();
    for (const a of answers) {
      const id = /^Call-ID: (.*)$/m.exec(a.data.toString('latin1'))?.[1]?.trim() ?? '';
      byCallId.set(id, (byCallId.get(id) ?? 0) + 1);
      expect(statusOf(a.data)).to.equal(401);
      expect(a.data.length).to.be.at.most(3 * (sizes.get(id) ?? 0));
    }
    expect([...byCallId.values()].every((n) => n === 1)).to.equal(true);
    // The budget of an unverified source: a burst of 1000, then 100/s (admission.ts defaults).
    const floodSeconds = (Date.now() - floodStart) / 1000;
    expect(answers.length).to.be.at.most(1000 + Math.ceil(100 * (floodSeconds + 1)));
    const stats = h.sip.stats();
    const limited = stats.sip_response_rate_limited ?? 0;
    expect(limited).to.be.greaterThan(0);
    // Every INVITE that arrived was answered once or counted as cut (loopback may drop a few datagrams under load).
    expect(limited + answers.length).to.be.within(2700, 3000);
    expect(stats.server_transactions_full ?? 0).to.equal(0);
    expect(await caller.bye()).to.equal(200);
  });

  it('SIP_AUTH off: INVITEs from one address hold at most its dialogs and transactions; a caller from another address gets in', async () => {
    h = await startHarness(testConfig(SERVER, { sipPort: 5060, sipAuth: false, maxParticipants: 1000 }));
    const harness = h;
    const flooder = await bindUdp('127.0.45.20', 5070);
    sockets.push(flooder);
    flooder.on('message', () => undefined);
    for (let tick = 0; tick < 10; tick++) {
      for (let i = 0; i < 40; i++) flooder.send(invite('127.0.45.20', 5070, `open${tick}x${i}`), 5060, SERVER);
      await pause(100);
    }
    await pause(300);
    const fromFlooder = (): number => harness.core.snapshot().flatMap((x) => x.participants).filter((p) => p.user === 'flood').length;
    // 400 INVITEs, never ACKed: 32 dialogs (participants) at most, 64 transactions at most, the rest refused.
    expect(fromFlooder()).to.equal(32);
    expect(harness.sip.stats().server_transactions).to.be.at.most(64);
    expect(harness.sip.stats().sip_refused_dialog_source_limit ?? 0).to.be.greaterThan(0);
    expect(harness.sip.stats().sip_refused_tx_source_limit ?? 0).to.be.greaterThan(0);
    const caller = new SipUdpClient({ localAddress: '127.0.45.21', server: SERVER, serverPort: 5060 });
    clients.push(caller);
    await caller.bind();
    const call = await caller.invite('room', clientSdp('127.0.45.21', 41_100, 8, 'carol'));
    expect(call.status).to.equal(200);
    expect(await caller.bye()).to.equal(200);
  });

  it('SIP over TCP: idle connections from several addresses fill the unknown places; an authenticated caller still connects (evicting an idle one)', async () => {
    h = await startHarness(testConfig(SERVER, { sipPort: 5060, sipAuth: true, sipUsers: USERS, sipTransports: ['udp', 'tcp'] }), {},
      { maxConnections: 8, reservedForKnown: 2, maxPerSource: 2, maxPendingPerSource: 2, firstMessageTimeoutMs: 20_000 });
    const harness = h;
    const conns: net.Socket[] = [];
    const open = async (from: string): Promise<{ s: net.Socket; closed: () => boolean }> => {
      const s = net.connect({ host: SERVER, port: 5060, localAddress: from });
      s.on('error', () => undefined);
      s.resume();
      conns.push(s);
      let closed = false;
      s.once('close', () => { closed = true; });
      await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
      return { s, closed: () => closed };
    };
    try {
      const idle: { closed: () => boolean }[] = [];
      for (let a = 1; a <= 3; a++) for (let j = 0; j < 2; j++) idle.push(await open(`127.0.47.${a}`));
      const late = await open('127.0.47.4');
      await waitUntil(() => late.closed(), 5000, 'an unknown address refused when the unknown places are taken');
      expect(harness.sip.stats().drop_sip_tcp_full).to.equal(1);
      // Alice authenticates over UDP from her address: it is known now.
      const alice = new SipUdpClient({ localAddress: '127.0.47.9', server: SERVER, serverPort: 5060, user: 'alice', password: 'correct horse' });
      clients.push(alice);
      await alice.bind();
      expect((await alice.invite('room', clientSdp('127.0.47.9', 44_000, 13, 'alice'))).status).to.equal(200);
      for (let j = 0; j < 2; j++) await open('127.0.47.9');
      const third = await open('127.0.47.9');
      const answered = new Promise<string>((resolve) => { third.s.on('data', (d: Buffer) => { resolve(d.toString('latin1')); }); });
      third.s.write([`OPTIONS sip:${SERVER} SIP/2.0`, 'Via: SIP/2.0/TCP 127.0.47.9:5099;branch=z9hG4bKtcpopt1', 'Max-Forwards: 70',
        'From: <sip:alice@127.0.47.9>;tag=a1', `To: <sip:${SERVER}>`, 'Call-ID: tcp-options-1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'));
      expect(statusOf(Buffer.from(await answered, 'latin1'))).to.equal(200);
      expect(harness.sip.stats().drop_sip_tcp_evicted).to.equal(1);
      expect(idle[0]?.closed()).to.equal(true);
      expect(await alice.bye()).to.equal(200);
    } finally {
      for (const c of conns) c.destroy();
    }
  });

  it('a spoofed unauthenticated INVITE gets exactly one response: no retransmission for 4.5 s', async () => {
    h = await startHarness(testConfig(SERVER, { sipPort: 5060, sipAuth: true, sipUsers: USERS }));
    const victim = await bindUdp(VICTIM, 5080);
    sockets.push(victim);
    const got: Got[] = [];
    victim.on('message', (data) => { got.push({ data, at: Date.now() }); });
    const req = invite(VICTIM, 5080, `spoof${randomBytes(4).toString('hex')}`);
    const sentAt = Date.now();
    victim.send(req, 5060, SERVER);
    await pause(4500);
    expect(got.map((g) => statusOf(g.data))).to.deep.equal([401]);
    expect(got[0]?.at ?? Infinity).to.be.lessThan(sentAt + 1000);
    expect(got[0]?.data.length ?? Infinity).to.be.at.most(3 * req.length);
    expect(h.sip.stats().server_transactions).to.equal(0);
  });

  it('guessing spread over 40 addresses is stopped by the per-user backoff; the user at her own address still gets in', async () => {
    h = await startHarness(testConfig(SERVER, { sipPort: 5060, sipAuth: true, sipUsers: USERS }), {
      userBackoff: { threshold: 10, baseBackoffMs: 30_000, maxBackoffMs: 60_000 },
    });
    const harness = h;
    // Alice called from her usual address before the attack.
    const home = new SipUdpClient({ localAddress: '127.0.46.100', server: SERVER, serverPort: 5060, user: 'alice', password: 'correct horse' });
    clients.push(home);
    await home.bind();
    expect((await home.invite('room', clientSdp('127.0.46.100', 42_000, 9, 'alice'))).status).to.equal(200);
    expect(await home.bye()).to.equal(200);

    // The attacker: one challenge, then 3 guesses from each of 40 addresses.
    const first = await bindUdp('127.0.46.1', 5090);
    sockets.push(first);
    const challenge = await exchange(first, invite('127.0.46.1', 5090, 'getnonce', [], 'alice'));
    const ch = parseChallenge(/^WWW-Authenticate: (.*)$/m.exec(challenge.toString('latin1'))?.[1] ?? '');
    if (ch === undefined) throw new Error('no challenge');
    let nc = 0;
    const authorization = (password: string): string => {
      nc++;
      const ncHex = nc.toString(16).padStart(8, '0');
      const uri = `sip:room@${SERVER}:5060`;
      const alg = ch.algorithm === 'SHA-256' ? 'SHA-256' : 'MD5';
      const response = digestResponse(alg, computeHa1(alg, 'alice', REALM, password), 'INVITE', { nonce: ch.nonce, uri, qop: 'auth', nc: ncHex, cnonce: `c${nc}` });
      return `Authorization: Digest username="alice", realm="${REALM}", nonce="${ch.nonce}", uri="${uri}", response="${response}", algorithm=${alg}, qop=auth, nc=${ncHex}, cnonce="c${nc}"`;
    };
    const reasons: string[] = [];
    const guessers: dgram.Socket[] = [first];
    for (let i = 2; i <= 40; i++) { const s = await bindUdp(`127.0.46.${i}`, 5090); sockets.push(s); guessers.push(s); }
    for (let round = 0; round < 3; round++) {
      for (const [i, s] of guessers.entries()) {
        const ip = `127.0.46.${i + 1}`;
        const res = await exchange(s, invite(ip, 5090, `g${round}x${i}`, [authorization(`guess-${round}-${i}`)], 'alice'));
        reasons.push(`${statusOf(res)} ${reasonOf(res)}`);
      }
    }
    expect(reasons.filter((r) => r === '403 Forbidden (bad credentials)')).to.have.length(10);
    expect(reasons.filter((r) => r === '403 Forbidden (too many failures for this user)')).to.have.length(110);
    const stats = harness.sip.stats();
    expect(stats.auth_failures).to.equal(10);
    expect(stats.auth_rate_limited ?? 0).to.equal(0); // no single address reached its own limit
    expect(stats.sip_refused_user_backoff).to.equal(110);

    // During the backoff even the right password from a new address is not checked.
    const fresh = await bindUdp('127.0.46.200', 5090);
    sockets.push(fresh);
    const right = await exchange(fresh, invite('127.0.46.200', 5090, 'right-new-address', [authorization('correct horse')], 'alice'));
    expect(`${statusOf(right)} ${reasonOf(right)}`).to.equal('403 Forbidden (too many failures for this user)');
    expect(right.toString('latin1')).to.match(/^Retry-After: \d+$/m);
    // Bob is not affected, and alice at her own address gets in.
    const bob = new SipUdpClient({ localAddress: '127.0.46.150', server: SERVER, serverPort: 5060, user: 'bob', password: 'battery staple' });
    clients.push(bob);
    await bob.bind();
    expect((await bob.invite('room', clientSdp('127.0.46.150', 43_000, 11, 'bob'))).status).to.equal(200);
    const again = new SipUdpClient({ localAddress: '127.0.46.100', server: SERVER, serverPort: 5060, user: 'alice', password: 'correct horse' });
    clients.push(again);
    await again.bind();
    expect((await again.invite('room', clientSdp('127.0.46.100', 42_010, 12, 'alice'))).status).to.equal(200);
    await waitUntil(() => harness.core.snapshot().flatMap((s) => s.participants).length === 2, 5000, 'bob and alice joined');
  });
});

/** Sends `data` from `s` and resolves with the first datagram back (bounded wait). */
function exchange(s: dgram.Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { s.off('message', on); reject(new Error('no answer within 3 s')); }, 3000);
    const on = (m: Buffer): void => { clearTimeout(t); s.off('message', on); resolve(m); };
    s.on('message', on);
    s.send(data, 5060, SERVER);
  });
}
