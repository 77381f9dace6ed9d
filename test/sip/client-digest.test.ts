/**
 * Our own client (tools/lib) against the real core + SIP front end: the
 * SHA-256 digest (SIPp and baresip cannot do it), media between two
 * participants of one session, isolation from another session, in-dialog
 * requests carrying the INVITE's credentials, and the CLI's JSON summary.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runClient } from '../../tools/client.js';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { startHarness, testConfig, type Harness } from './harness.js';

const IP = '127.0.2.20';
const USERS = [
  { name: 'alice', password: 'wonderland' },
  { name: 'bob', ha1Sha256: '' },
  { name: 'carol', password: 'c' },
];

describe('sip: own client with SHA-256 digest and media through the real core', function () {
  this.timeout(30_000);
  let h: Harness | null = null;
  const clients: SipUdpClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await h?.close();
    h = null;
  });

  it('offers SHA-256 then MD5 in that order; the client answers SHA-256; media flows only within the session', async () => {
    const { createHash } = await import('node:crypto');
    const bobHa1 = createHash('sha256').update('bob:sip-test:builder').digest('hex');
    const users = USERS.map((u) => (u.name === 'bob' ? { name: 'bob', ha1Sha256: bobHa1 } : u));
    h = await startHarness(testConfig(IP, { sipAuth: true, sipUsers: users, sipDigestAlgorithms: ['SHA-256', 'MD5'] }));
    const base = { server: IP, serverPort: 5060, durationS: 2 };
    const [a, b, c] = await Promise.all([
      runClient({ ...base, session: 'sha room', local: '127.0.2.121', user: 'alice', password: 'wonderland', toneHz: 1000 }),
      runClient({ ...base, session: 'sha room', local: '127.0.2.122', user: 'bob', password: 'builder', toneHz: 500 }),
      runClient({ ...base, session: 'other room', local: '127.0.2.123', user: 'carol', password: 'c', toneHz: 700 }),
    ]);
    for (const s of [a, b, c]) {
      expect(s.joined, JSON.stringify(s)).to.equal(true);
      expect(s.statuses).to.deep.equal([401, 200]);
      expect(s.algorithm).to.equal('SHA-256');
      expect(s.byeStatus).to.equal(200);
    }
    const fromB = a.received.find((r) => r.ssrc === b.ssrc);
    const fromA = b.received.find((r) => r.ssrc === a.ssrc);
    expect(fromB?.packets ?? 0, JSON.stringify(a.received)).to.be.greaterThan(20);
    expect(fromA?.packets ?? 0, JSON.stringify(b.received)).to.be.greaterThan(20);
    expect(a.received.find((r) => r.ssrc === a.ssrc)).to.equal(undefined);
    expect(c.received.filter((r) => r.ssrc === a.ssrc || r.ssrc === b.ssrc)).to.deep.equal([]);
    expect(h.sip.stats().auth_failures ?? 0).to.equal(0);
    expect(h.removed.map((x) => x.reason).sort()).to.deep.equal(['bye', 'bye', 'bye']);
  });

  it('accepts ACK, re-INVITE (hold) and BYE that repeat the INVITE credentials; rejects a wrong password with 403', async () => {
    h = await startHarness(testConfig(IP, { sipAuth: true, sipUsers: USERS.slice(0, 1), sipDigestAlgorithms: ['SHA-256'] }));
    const cl = new SipUdpClient({ localAddress: '127.0.2.124', server: IP, serverPort: 5060, user: 'alice', password: 'wonderland' });
    clients.push(cl);
    await cl.bind();
    const r = await cl.invite('held room', clientSdp('127.0.2.124', 30000, 1234, 'a@x'));
    expect(r.statuses).to.deep.equal([401, 200]);
    const hold = await cl.reInvite(clientSdp('127.0.2.124', 30000, 1234, 'a@x', 'sendonly'));
    expect(hold.status).to.equal(200);
    expect(hold.answerSdp).to.match(/a=recvonly/);
    const unhold = await cl.reInvite(clientSdp('127.0.2.124', 30000, 1234, 'a@x', 'sendrecv'));
    expect(unhold.answerSdp).to.match(/a=sendrecv/);
    expect(await cl.bye()).to.equal(200);
    expect(h.sip.stats().auth_failures ?? 0).to.equal(0);

    const bad = new SipUdpClient({ localAddress: '127.0.2.125', server: IP, serverPort: 5060, user: 'alice', password: 'wrong' });
    clients.push(bad);
    await bad.bind();
    const br = await bad.invite('held room', clientSdp('127.0.2.125', 30002, 99, 'b@x'));
    expect(br.statuses).to.deep.equal([401, 403]);
  });

  it('the CLI prints a JSON summary and exits 0 after --duration', async () => {
    h = await startHarness(testConfig(IP));
    const cli = fileURLToPath(new URL('../../tools/client.js', import.meta.url));
    const proc = spawn(process.execPath, [cli, '--server', `${IP}:5060`, '--session', 'cli room', '--local', '127.0.2.126', '--duration', '1', '--tone', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => { out += d; });
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      proc.on('close', (c) => { clearTimeout(t); resolve(c); });
    });
    expect(code, out).to.equal(0);
    const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { joined: boolean; sentPackets: number; byeStatus: number };
    expect(summary.joined).to.equal(true);
    expect(summary.sentPackets).to.be.greaterThan(20);
    expect(summary.byeStatus).to.equal(200);
  });
});
