/**
 * The SIP front end behind a record-routing proxy (SPEC §17), over real UDP
 * sockets against the real core; the "proxy" is a raw socket of the test that
 * sends what Kamailio would (its own Via on top, Record-Route, the Request-URI
 * rewritten to the reflector with the session name kept):
 * - responses go back along the top Via, all Vias kept in order;
 * - Record-Route is copied, in order, into the 2xx of INVITE and re-INVITE and
 *   into the 200 of BYE;
 * - the reflector's own BYE follows the route set: loose routing to the first
 *   Route's address (RFC 3261 §12.2.1.1), strict routing with the remote target
 *   as the last Route; never to a third party named only in Record-Route;
 * - digest whose `uri` is the proxy's form of the Request-URI;
 * - Max-Forwards 0 on INVITE → 483; OPTIONS without a user part → 200, never
 *   challenged;
 * - draining: 503 with Retry-After to OPTIONS and new INVITEs while the
 *   dialogs in progress go on; drain() resolves when the last one ends.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { parseSipMessage, splitHeaderList, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message.js';
import { frameDatagram } from '../../src/sip/transport/framing.js';
import { clientSdp } from '../../tools/lib/media.js';
import { startHarness, testConfig, type Harness } from './harness.js';

const IP = '127.0.50.60';
const PROXY = '127.0.50.61';
const PHONE = '127.0.50.62';

class Raw {
  readonly sock = dgram.createSocket('udp4');
  readonly inbox: SipMessage[] = [];
  readonly #waiters = new Set<() => void>();
  constructor(readonly ip: string) {
    this.sock.on('error', () => undefined);
    this.sock.on('message', (buf) => {
      const f = frameDatagram(buf);
      if (typeof f === 'string') return;
      const r = parseSipMessage(f.head, f.body);
      if (!r.ok) return;
      this.inbox.push(r.message);
      for (const w of [...this.#waiters]) w();
    });
  }
  async bind(): Promise<void> { await new Promise<void>((resolve) => this.sock.bind(0, this.ip, resolve)); }
  get port(): number { return this.sock.address().port; }
  send(text: string): void { this.sock.send(text, 5060, IP); }
  waitFor<T extends SipMessage>(pred: (m: SipMessage) => m is T, timeoutMs = 3000, what = 'message'): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.inbox.find(pred);
        if (m !== undefined) { done(); resolve(m); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`${this.ip}:${this.port}: timed out waiting for ${what}; inbox: ${this.inbox.map((x) => x.kind === 'response' ? `${x.status} ${x.cseq.method}` : x.method).join(', ')}`)); }, timeoutMs);
      const done = (): void => { clearTimeout(t); this.#waiters.delete(check); };
      this.#waiters.add(check);
      check();
    });
  }
  close(): void { try { this.sock.close(); } catch { /* closed */ } }
}

const response = (callId: string, method: string, status?: number) => (m: SipMessage): m is SipResponse =>
  m.kind === 'response' && m.callId === callId && m.cseq.method === method && (status === undefined ? m.status >= 200 : m.status === status);
/** The final response to the request with CSeq number `seq` of call `callId`. */
const finalTo = (callId: string, seq: number) => (m: SipMessage): m is SipResponse =>
  m.kind === 'response' && m.callId === callId && m.cseq.seq === seq && m.status >= 200;
const requestOf = (method: string, callId: string) => (m: SipMessage): m is SipRequest =>
  m.kind === 'request' && m.method === method && m.callId === callId;

interface Proxied {
  method: string; callId: string; cseq: number; uri?: string; toTag?: string;
  recordRoute?: readonly string[]; maxForwards?: number; extra?: readonly string[]; body?: string;
}

/** A request as a record-routing proxy forwards it: its Via on top of the phone's, R-URI rewritten to the reflector. */
function proxied(proxy: Raw, r: Proxied): string {
  const body = r.body ?? '';
  return [
    `${r.method} ${r.uri ?? `sip:room@${IP}:5060`} SIP/2.0`,
    `Via: SIP/2.0/UDP ${proxy.ip}:${proxy.port};branch=z9hG4bK${randomBytes(6).toString('hex')}`,
    `Via: SIP/2.0/UDP ${PHONE}:5099;received=${PHONE};rport=5099;branch=z9hG4bK${randomBytes(6).toString('hex')}`,
    ...(r.recordRoute ?? []).map((rr) => `Record-Route: ${rr}`),
    `Max-Forwards: ${r.maxForwards ?? 69}`,
    'From: "Alice" <sip:alice@example.net>;tag=ft1',
    `To: <sip:room@proxy.example>${r.toTag !== undefined ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    `Contact: <sip:alice@${PHONE}:5099>`,
    ...(r.extra ?? []),
    ...(body.length > 0 ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`, '', body,
  ].join('\r\n');
}

const allValues = (m: SipMessage, name: string): string[] => splitHeaderList(m.headers.get(name) ?? '');

describe('sip: behind a record-routing proxy (Kamailio-style)', function () {
  this.timeout(20_000);
  let h: Harness | null = null;
  const socks: Raw[] = [];

  async function raw(ip: string): Promise<Raw> {
    const s = new Raw(ip);
    await s.bind();
    socks.push(s);
    return s;
  }

  afterEach(async () => {
    for (const s of socks.splice(0)) s.close();
    await h?.close();
    h = null;
  });

  /** An INVITE through `proxy` that record-routes `rr`; returns the 200 and the dialog's To tag. */
  async function join(proxy: Raw, callId: string, rr: readonly string[], extra: readonly string[] = []): Promise<SipResponse> {
    proxy.send(proxied(proxy, { method: 'INVITE', callId, cseq: 1, recordRoute: rr, extra, body: clientSdp(PHONE, 40000, 0x1234, 'alice') }));
    const ok = await proxy.waitFor(response(callId, 'INVITE'), 3000, '200 to INVITE');
    expect(ok.status, ok.reason).to.equal(200);
    proxy.send(proxied(proxy, { method: 'ACK', callId, cseq: 1, toTag: ok.to.tag ?? '', uri: `sip:${IP}:5060` }));
    return ok;
  }

  it('answers along the top Via with every Via in order, copies Record-Route into the 2xx, keeps the session name of a rewritten Request-URI, and answers with its own address', async () => {
    h = await startHarness(testConfig(IP));
    const proxy = await raw(PROXY);
    const rr = [`<sip:${PROXY}:${proxy.port};lr;ftag=ft1>`, '<sip:192.0.2.7;lr>'];
    const ok = await join(proxy, 'c1', rr);
    const vias = allValues(ok, 'via');
    expect(vias.length).to.equal(2);
    expect(vias[0]).to.match(new RegExp(`^SIP/2.0/UDP ${PROXY}:${proxy.port};branch=`));
    expect(vias[1]).to.match(new RegExp(`^SIP/2.0/UDP ${PHONE}:5099;received=${PHONE};rport=5099;branch=`));
    expect(allValues(ok, 'record-route')).to.deep.equal(rr);
    expect(ok.to.tag).to.be.a('string');
    expect(ok.body.toString()).to.include(`c=IN IP4 ${IP}`);
    expect(h.core.sessionCodecs('room', 'audio').length, 'session name = the Request-URI user').to.be.greaterThan(0);

    // re-INVITE through the proxy (its Route consumed, R-URI = our Contact): the 2xx carries the Record-Route too.
    proxy.send(proxied(proxy, { method: 'INVITE', callId: 'c1', cseq: 2, toTag: ok.to.tag ?? '', uri: `sip:${IP}:5060`, recordRoute: rr, body: clientSdp(PHONE, 40000, 0x1234, 'alice') }));
    const re = await proxy.waitFor(finalTo('c1', 2), 3000, '200 to re-INVITE');
    expect(re.status).to.equal(200);
    expect(allValues(re, 'record-route')).to.deep.equal(rr);
    // BYE from the phone through the proxy ends the participant; its 200 goes back along the top Via.
    proxy.send(proxied(proxy, { method: 'BYE', callId: 'c1', cseq: 3, toTag: ok.to.tag ?? '', uri: `sip:${IP}:5060` }));
    const byeOk = await proxy.waitFor(response('c1', 'BYE'), 3000, '200 to BYE');
    expect(byeOk.status).to.equal(200);
    expect(h.removed.map((x) => [x.session, x.reason])).to.deep.equal([['room', 'bye']]);
  });

  it('sends its own BYE along the route set: to the first Route when it is loose, with the route set as Route headers', async () => {
    h = await startHarness(testConfig(IP));
    const proxy = await raw(PROXY);
    const routeSock = await raw(PROXY); // the proxy's listening port, named in Record-Route (not the port the INVITE came from)
    const rr = [`<sip:${PROXY}:${routeSock.port};lr;ftag=ft1>`, '<sip:192.0.2.7;lr>'];
    await join(proxy, 'c2', rr);
    const id = h.joined[0] ?? '';
    h.core.leave(id, 'kicked');
    const bye = await routeSock.waitFor(requestOf('BYE', 'c2'), 3000, 'BYE at the first Route');
    expect(bye.uri).to.equal(`sip:alice@${PHONE}:5099`);
    expect(allValues(bye, 'route')).to.deep.equal(rr);
    expect(proxy.inbox.some(requestOf('BYE', 'c2'))).to.equal(false);
  });

  it('sends its own BYE to a strict first Route with the remote target as the last Route (RFC 3261 §12.2.1.1)', async () => {
    h = await startHarness(testConfig(IP));
    const proxy = await raw(PROXY);
    const routeSock = await raw(PROXY);
    const rr = [`<sip:${PROXY}:${routeSock.port}>`, '<sip:192.0.2.7;lr>'];
    await join(proxy, 'c3', rr);
    h.core.leave(h.joined[0] ?? '', 'kicked');
    const bye = await routeSock.waitFor(requestOf('BYE', 'c3'), 3000, 'BYE at the strict route');
    expect(bye.uri).to.equal(`sip:${PROXY}:${routeSock.port}`);
    expect(allValues(bye, 'route')).to.deep.equal(['<sip:192.0.2.7;lr>', `<sip:alice@${PHONE}:5099>`]);
  });

  it('never sends its BYE to an address named only in Record-Route: a first Route that is not the signalling source\'s IP gets the BYE at that source', async () => {
    h = await startHarness(testConfig(IP));
    const proxy = await raw(PROXY);
    const rr = ['<sip:192.0.2.55:5060;lr>'];
    await join(proxy, 'c4', rr);
    h.core.leave(h.joined[0] ?? '', 'kicked');
    const bye = await proxy.waitFor(requestOf('BYE', 'c4'), 3000, 'BYE at the signalling source');
    expect(allValues(bye, 'route')).to.deep.equal(rr);
    expect(bye.uri).to.equal(`sip:alice@${PHONE}:5099`);
  });

  it('accepts digest credentials whose uri is the proxy\'s form of the Request-URI', async () => {
    h = await startHarness(testConfig(IP, { sipAuth: true, sipUsers: [{ name: 'alice', password: 'pw' }] }));
    const proxy = await raw(PROXY);
    proxy.send(proxied(proxy, { method: 'INVITE', callId: 'c5', cseq: 1, body: clientSdp(PHONE, 40000, 0x1234, 'alice') }));
    const ch = await proxy.waitFor(response('c5', 'INVITE', 401), 3000, '401');
    const www = ch.headers.get('www-authenticate') ?? '';
    const realm = /realm="([^"]+)"/.exec(www)?.[1] ?? '';
    const nonce = /nonce="([^"]+)"/.exec(www)?.[1] ?? '';
    const uri = 'sip:room@proxy.example'; // what the phone dialled; the reflector sees sip:room@IP:5060
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const resp = md5(`${md5(`alice:${realm}:pw`)}:${nonce}:00000001:abc:auth:${md5(`INVITE:${uri}`)}`);
    const auth = `Authorization: Digest username="alice", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${resp}", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc"`;
    proxy.send(proxied(proxy, { method: 'INVITE', callId: 'c5', cseq: 2, extra: [auth], body: clientSdp(PHONE, 40000, 0x1234, 'alice') }));
    const ok = await proxy.waitFor(finalTo('c5', 2), 3000, 'final to the INVITE with credentials');
    expect(ok.status, ok.reason).to.equal(200);
  });

  it('answers OPTIONS without a user part 200 and unchallenged (also with SIP_AUTH on and at Max-Forwards 0); an INVITE at Max-Forwards 0 gets 483', async () => {
    h = await startHarness(testConfig(IP, { sipAuth: true, sipUsers: [{ name: 'alice', password: 'pw' }] }));
    const proxy = await raw(PROXY);
    proxy.send(proxied(proxy, { method: 'OPTIONS', callId: 'o1', cseq: 1, uri: `sip:${IP}:5060` }));
    const ok = await proxy.waitFor(response('o1', 'OPTIONS'), 3000, '200 to OPTIONS');
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('allow')).to.include('INVITE');
    proxy.send(proxied(proxy, { method: 'OPTIONS', callId: 'o2', cseq: 1, uri: `sip:${IP}:5060`, maxForwards: 0 }));
    expect((await proxy.waitFor(response('o2', 'OPTIONS'), 3000, 'OPTIONS at Max-Forwards 0')).status).to.equal(200);
    proxy.send(proxied(proxy, { method: 'INVITE', callId: 'i1', cseq: 1, maxForwards: 0, body: clientSdp(PHONE, 40000, 0x1234, 'alice') }));
    expect((await proxy.waitFor(response('i1', 'INVITE'), 3000, '483')).status).to.equal(483);
  });

  it('while draining answers OPTIONS and new INVITEs 503 with Retry-After, keeps the dialog in progress, and drain() resolves when it has ended', async () => {
    h = await startHarness(testConfig(IP));
    const proxy = await raw(PROXY);
    const ok = await join(proxy, 'd1', [`<sip:${PROXY}:${proxy.port};lr>`]);
    let drained: string | undefined;
    const draining = h.sip.drain(10_000).then((r) => { drained = r; });
    proxy.send(proxied(proxy, { method: 'OPTIONS', callId: 'd2', cseq: 1, uri: `sip:${IP}:5060` }));
    const opt = await proxy.waitFor(response('d2', 'OPTIONS'), 3000, 'OPTIONS while draining');
    expect(opt.status).to.equal(503);
    expect(opt.headers.get('retry-after')).to.match(/^\d+$/);
    proxy.send(proxied(proxy, { method: 'INVITE', callId: 'd3', cseq: 1, body: clientSdp(PHONE, 40002, 0x5678, 'bob') }));
    const inv = await proxy.waitFor(response('d3', 'INVITE'), 3000, 'INVITE while draining');
    expect(inv.status).to.equal(503);
    expect(inv.headers.get('retry-after')).to.match(/^\d+$/);
    expect(h.joined.length).to.equal(1);
    // The call in progress: a re-INVITE still works, then its BYE ends it and the drain is over.
    proxy.send(proxied(proxy, { method: 'INVITE', callId: 'd1', cseq: 2, toTag: ok.to.tag ?? '', uri: `sip:${IP}:5060`, body: clientSdp(PHONE, 40000, 0x1234, 'alice') }));
    const re = await proxy.waitFor(finalTo('d1', 2), 3000, 're-INVITE while draining');
    expect(re.status).to.equal(200);
    expect(drained).to.equal(undefined);
    proxy.send(proxied(proxy, { method: 'BYE', callId: 'd1', cseq: 3, toTag: ok.to.tag ?? '', uri: `sip:${IP}:5060` }));
    expect((await proxy.waitFor(response('d1', 'BYE'), 3000, '200 to BYE')).status).to.equal(200);
    await draining;
    expect(drained).to.equal('idle');
  });
});
