/**
 * The SIP user agent over real UDP sockets against the real core: methods,
 * session-name errors, retransmission absorption, mode parameter, host
 * policy, admission limits, the reflector's own BYE with retransmissions,
 * in-dialog source checks, stale nonces and the failure rate limit.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { Config } from '../../src/config/types.js';
import { frameDatagram } from '../../src/sip/transport/framing.js';
import { parseSipMessage, type SipMessage } from '../../src/sip/message.js';
import type { UserAgentOptions } from '../../src/sip/index.js';
import { clientSdp } from '../../tools/lib/media.js';
import { waitUntil } from '../helpers/wait.js';
import { startHarness, testConfig, type Harness } from './harness.js';

const IP = '127.0.2.60';

class RawUdp {
  readonly sock = dgram.createSocket('udp4');
  readonly inbox: SipMessage[] = [];
  readonly #waiters = new Set<() => void>();
  constructor(readonly ip: string) {
    this.sock.on('message', (buf) => {
      const f = frameDatagram(buf);
      if (typeof f === 'string') return;
      const r = parseSipMessage(f.head, f.body);
      if (!r.ok) return;
      this.inbox.push(r.message);
      for (const w of [...this.#waiters]) w();
    });
  }
  async bind(): Promise<number> {
    await new Promise<void>((resolve) => this.sock.bind(0, this.ip, resolve));
    return this.sock.address().port;
  }
  get port(): number { return this.sock.address().port; }
  send(text: string): void { this.sock.send(text, 5060, IP); }
  /** Resolves with the first message (already received or future) matching `pred`. */
  waitFor(pred: (m: SipMessage) => boolean, timeoutMs = 3000, what = 'message'): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.inbox.find(pred);
        if (m !== undefined) { done(); resolve(m); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; inbox: ${this.inbox.map((x) => x.kind === 'response' ? `${x.status} ${x.cseq.method}` : x.method).join(', ')}`)); }, timeoutMs);
      const done = (): void => { clearTimeout(t); this.#waiters.delete(check); };
      this.#waiters.add(check);
      check();
    });
  }
  close(): void { try { this.sock.close(); } catch { /* closed */ } }
}

interface Req { method: string; uri?: string; callId: string; cseq: number; branch?: string; fromTag?: string; toTag?: string; body?: string; headers?: string[] }

function request(c: RawUdp, r: Req): string {
  const body = r.body ?? '';
  return [
    `${r.method} ${r.uri ?? `sip:room@${IP}`} SIP/2.0`,
    `Via: SIP/2.0/UDP ${c.ip}:${c.port};branch=${r.branch ?? `z9hG4bK${randomBytes(6).toString('hex')}`};rport`,
    'Max-Forwards: 70',
    `From: <sip:tester@${c.ip}>;tag=${r.fromTag ?? 'ft'}`,
    `To: <sip:room@${IP}>${r.toTag !== undefined ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    `Contact: <sip:tester@${c.ip}:${c.port}>`,
    ...(r.headers ?? []),
    ...(body.length > 0 ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`, '', body,
  ].join('\r\n');
}

const isResp = (callId: string, status?: number, method?: string) => (m: SipMessage): boolean =>
  m.kind === 'response' && m.callId === callId && (status === undefined ? m.status >= 200 : m.status === status) && (method === undefined || m.cseq.method === method);

describe('sip/user-agent over UDP against the real core', function () {
  this.timeout(20_000);
  let h: Harness | null = null;
  const socks: RawUdp[] = [];

  afterEach(async () => {
    for (const s of socks.splice(0)) s.close();
    await h?.close();
    h = null;
  });

  async function setup(overrides: Partial<Config> = {}, options: UserAgentOptions = {}, clientIp = '127.0.2.160'): Promise<RawUdp> {
    h = await startHarness(testConfig(IP, overrides), options);
    return client(clientIp);
  }
  async function client(ip: string): Promise<RawUdp> {
    const c = new RawUdp(ip);
    socks.push(c);
    await c.bind();
    return c;
  }
  const sdp = (c: RawUdp): string => clientSdp(c.ip, 40000, 1, 'x');

  it('answers OPTIONS 200 and other methods 405, both with Allow', async () => {
    const c = await setup();
    c.send(request(c, { method: 'OPTIONS', uri: `sip:${IP}`, callId: 'o1', cseq: 1 }));
    c.send(request(c, { method: 'REGISTER', uri: `sip:${IP}`, callId: 'r1', cseq: 1 }));
    const ok = await c.waitFor(isResp('o1'));
    const na = await c.waitFor(isResp('r1'));
    expect(ok.kind === 'response' && ok.status).to.equal(200);
    expect(na.kind === 'response' && na.status).to.equal(405);
    for (const m of [ok, na]) expect(m.headers.get('allow')).to.equal('INVITE, ACK, BYE, CANCEL, OPTIONS');
    expect(ok.via[0]?.raw).to.match(new RegExp(`rport=${c.port};received=${c.ip.replace(/\./g, '\\.')}$`));
  });

  it('answers bad session names with 400 and a reason that says why', async () => {
    const c = await setup();
    c.send(request(c, { method: 'INVITE', uri: `sip:a%0Ab@${IP}`, callId: 'n1', cseq: 1, body: sdp(c) }));
    c.send(request(c, { method: 'INVITE', uri: `sip:${'z'.repeat(65)}@${IP}`, callId: 'n2', cseq: 1, body: sdp(c) }));
    c.send(request(c, { method: 'INVITE', uri: `sip:${IP}`, callId: 'n3', cseq: 1, body: sdp(c) }));
    const got = await Promise.all(['n1', 'n2', 'n3'].map((id) => c.waitFor(isResp(id))));
    expect(got.map((m) => m.kind === 'response' && [m.status, m.reason])).to.deep.equal([
      [400, 'Session name contains control characters'], [400, 'Session name too long'], [400, 'Session name missing']]);
    expect(h?.joined).to.deep.equal([]);
  });

  it('absorbs a retransmitted INVITE (one participant, the same 2xx), honours ;mode=mix, BYE leaves', async () => {
    const c = await setup();
    const inv = request(c, { method: 'INVITE', uri: `sip:weekly%20review@${IP};mode=mix`, callId: 'm1', cseq: 1, branch: 'z9hG4bKsame', body: sdp(c) });
    c.send(inv);
    const first = await c.waitFor(isResp('m1', 200));
    c.send(inv);
    await c.waitFor((m) => m.kind === 'response' && m.callId === 'm1' && m !== first, 3000, 'the 2xx again');
    const again = c.inbox.filter(isResp('m1', 200));
    expect(new Set(again.map((m) => m.to.tag)).size).to.equal(1);
    expect(h?.joined).to.have.length(1);
    const snap = h?.core.snapshot() ?? [];
    expect(snap.map((s) => [s.name, s.participants.map((p) => p.mode)])).to.deep.equal([['weekly review', ['mix']]]);
    const toTag = first.to.tag ?? '';
    c.send(request(c, { method: 'ACK', callId: 'm1', cseq: 1, toTag }));
    c.send(request(c, { method: 'BYE', callId: 'm1', cseq: 2, toTag }));
    const bye = await c.waitFor(isResp('m1', undefined, 'BYE'));
    expect(bye.kind === 'response' && bye.status).to.equal(200);
    expect(h?.removed.map((r) => r.reason)).to.deep.equal(['bye']);
    c.send(request(c, { method: 'BYE', callId: 'm1', cseq: 3, toTag }));
    await c.waitFor((m) => m.kind === 'response' && m.callId === 'm1' && m.status === 481, 3000, '481 for a gone dialog');
  });

  it('refuses sources by HOSTS_ALLOW / HOSTS_DENY with 403', async () => {
    const c = await setup({ hostsAllow: [{ family: 4, address: '127.0.2.161', prefix: 32 }], hostsDeny: [{ family: 4, address: '0.0.0.0', prefix: 0 }] });
    const allowed = await client('127.0.2.161');
    c.send(request(c, { method: 'OPTIONS', uri: `sip:${IP}`, callId: 'h1', cseq: 1 }));
    allowed.send(request(allowed, { method: 'OPTIONS', uri: `sip:${IP}`, callId: 'h2', cseq: 1 }));
    const denied = await c.waitFor(isResp('h1'));
    const ok = await allowed.waitFor(isResp('h2'));
    expect(denied.kind === 'response' && denied.status).to.equal(403);
    expect(ok.kind === 'response' && ok.status).to.equal(200);
  });

  it('maps admission limits to 486 (session full) and 503 with Retry-After (server full)', async () => {
    const c = await setup({ maxParticipantsPerSession: 1, maxParticipants: 2 });
    c.send(request(c, { method: 'INVITE', uri: `sip:one@${IP}`, callId: 'a1', cseq: 1, fromTag: 't1', body: sdp(c) }));
    await c.waitFor(isResp('a1', 200));
    c.send(request(c, { method: 'INVITE', uri: `sip:one@${IP}`, callId: 'a2', cseq: 1, fromTag: 't2', body: sdp(c) }));
    const full = await c.waitFor(isResp('a2'));
    expect(full.kind === 'response' && full.status).to.equal(486);
    c.send(request(c, { method: 'INVITE', uri: `sip:two@${IP}`, callId: 'a3', cseq: 1, fromTag: 't3', body: sdp(c) }));
    await c.waitFor(isResp('a3', 200));
    c.send(request(c, { method: 'INVITE', uri: `sip:three@${IP}`, callId: 'a4', cseq: 1, fromTag: 't4', body: sdp(c) }));
    const server = await c.waitFor(isResp('a4'));
    expect(server.kind === 'response' && server.status).to.equal(503);
    expect(server.headers.get('retry-after')).to.match(/^\d+$/);
  });

  it('sends its own BYE when the core removes a participant, retransmitting until answered', async () => {
    const c = await setup();
    c.send(request(c, { method: 'INVITE', callId: 'k1', cseq: 1, fromTag: 'mine', body: sdp(c) }));
    const ok = await c.waitFor(isResp('k1', 200));
    c.send(request(c, { method: 'ACK', callId: 'k1', cseq: 1, fromTag: 'mine', toTag: ok.to.tag ?? '' }));
    const id = h?.joined[0] ?? '';
    h?.core.leave(id, 'kicked');
    const bye1 = await c.waitFor((m) => m.kind === 'request' && m.method === 'BYE', 3000, 'BYE');
    const bye2 = await c.waitFor((m) => m.kind === 'request' && m.method === 'BYE' && m !== bye1, 3000, 'BYE retransmission');
    expect(bye1.kind === 'request' && bye1.uri).to.equal(`sip:tester@${c.ip}:${c.port}`);
    expect(bye1.to.tag).to.equal('mine');
    expect(bye1.from.tag).to.equal(ok.to.tag);
    expect(bye1.callId).to.equal('k1');
    expect(bye2.via[0]?.branch).to.equal(bye1.via[0]?.branch);
    const v = bye1.via.map((x) => x.raw).join(', ');
    c.sock.send([`SIP/2.0 200 OK`, `Via: ${v}`, `From: ${bye1.headers.get('from')}`, `To: ${bye1.headers.get('to')}`, `Call-ID: k1`, `CSeq: ${bye1.headers.get('cseq')}`, 'Content-Length: 0', '', ''].join('\r\n'), 5060, IP);
    expect(h?.removed.map((r) => r.reason)).to.deep.equal(['kicked']);
    await waitUntil(() => h?.sip.stats().bye_final_200 === 1, 3000, 'the BYE transaction to complete');
  });

  it('rejects in-dialog requests from another source with 403, and unknown dialogs with 481', async () => {
    const c = await setup();
    const other = await client('127.0.2.162');
    c.send(request(c, { method: 'INVITE', callId: 'd1', cseq: 1, body: sdp(c) }));
    const ok = await c.waitFor(isResp('d1', 200));
    other.send(request(other, { method: 'BYE', callId: 'd1', cseq: 2, toTag: ok.to.tag ?? '' }));
    const forbidden = await other.waitFor(isResp('d1'));
    expect(forbidden.kind === 'response' && forbidden.status).to.equal(403);
    other.send(request(other, { method: 'BYE', callId: 'nope', cseq: 2, toTag: 'x' }));
    const unknown = await other.waitFor(isResp('nope'));
    expect(unknown.kind === 'response' && unknown.status).to.equal(481);
    expect(h?.removed).to.deep.equal([]);
  });

  it('answers good credentials with an expired nonce by 401 stale=true', async () => {
    const c = await setup({ sipAuth: true, sipUsers: [{ name: 'alice', password: 'pw' }] }, { nonceTtlMs: -1 });
    c.send(request(c, { method: 'INVITE', callId: 's1', cseq: 1, body: sdp(c) }));
    const ch = await c.waitFor(isResp('s1', 401));
    const nonce = /nonce="([^"]+)"/.exec(ch.headers.get('www-authenticate') ?? '')?.[1] ?? '';
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const uri = `sip:room@${IP}`;
    const response = md5(`${md5('alice:sip-test:pw')}:${nonce}:00000001:cn:auth:${md5(`INVITE:${uri}`)}`);
    c.send(request(c, { method: 'INVITE', callId: 's1', cseq: 2, body: sdp(c), headers: [`Authorization: Digest username="alice", realm="sip-test", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="cn"`] }));
    const stale = await c.waitFor((m) => m.kind === 'response' && m.callId === 's1' && m.cseq.seq === 2 && m.status >= 200);
    expect(stale.kind === 'response' && stale.status).to.equal(401);
    expect(stale.headers.get('www-authenticate')).to.match(/stale=true/);
  });

  it('rate-limits a source after repeated authentication failures', async () => {
    const c = await setup({ sipAuth: true, sipUsers: [{ name: 'alice', password: 'pw' }] }, { authFailureLimit: 3 });
    const reasons: string[] = [];
    for (let i = 0; i < 4; i++) {
      c.send(request(c, { method: 'INVITE', callId: `f${i}`, cseq: 1, fromTag: `f${i}`, body: sdp(c) }));
      const ch = await c.waitFor(isResp(`f${i}`));
      if (ch.kind !== 'response') continue;
      if (ch.status !== 401) { reasons.push(`${ch.status} ${ch.reason}`); continue; }
      const nonce = /nonce="([^"]+)"/.exec(ch.headers.get('www-authenticate') ?? '')?.[1] ?? '';
      c.send(request(c, { method: 'INVITE', callId: `f${i}`, cseq: 2, fromTag: `f${i}`, body: sdp(c), headers: [`Authorization: Digest username="alice", realm="sip-test", nonce="${nonce}", uri="sip:room@${IP}", response="00000000000000000000000000000000", algorithm=MD5, qop=auth, nc=00000001, cnonce="cn"`] }));
      const r = await c.waitFor((m) => m.kind === 'response' && m.callId === `f${i}` && m.cseq.seq === 2 && m.status >= 200);
      if (r.kind === 'response') reasons.push(`${r.status} ${r.reason}`);
    }
    expect(reasons).to.deep.equal(['403 Forbidden (bad credentials)', '403 Forbidden (bad credentials)', '403 Forbidden (bad credentials)', '403 Too many authentication failures']);
  });
});
