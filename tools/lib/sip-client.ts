/**
 * A small SIP UAC over UDP or TLS (SPEC §15) for the conference client and the tests: INVITE
 * (answering a digest challenge with MD5 or SHA-256, qop=auth), ACK,
 * re-INVITE, BYE, and answering the reflector's BYE. Parsing reuses the
 * reflector's own message layer.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { frameDatagram, StreamFramer, type Frame } from '../../src/sip/transport/framing.js';
import { parseSipMessage, serialise, splitHeaderList, parseNameAddr, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message.js';
import { computeHa1, digestResponse, parseChallenge } from '../../src/sip/uas/digest.js';

export interface SipClientOptions {
  readonly localAddress: string;
  readonly localPort?: number;
  readonly server: string;
  readonly serverPort: number;
  readonly user?: string;
  readonly password?: string;
  /** Display name in From (quoted); none by default. */
  readonly displayName?: string;
  /** Algorithms this client can answer, in its own order of preference among what the server offers first. */
  readonly algorithms?: readonly ('MD5' | 'SHA-256')[];
  /** SIP over TLS to serverPort instead of UDP (one connection for the whole dialog). */
  readonly tls?: boolean;
  /** With tls: verify the server certificate (default true), against these CA certificates if given. */
  readonly tlsVerify?: boolean;
  readonly tlsCa?: Buffer;
}

export interface CallResult {
  readonly status: number;
  readonly reason: string;
  readonly answerSdp?: string;
  /** Algorithm used to answer the challenge, if any. */
  readonly algorithm?: string;
  /** Statuses seen, in order (e.g. [401, 200]). */
  readonly statuses: readonly number[];
}

export class SipUdpClient extends EventEmitter {
  readonly #o: SipClientOptions;
  readonly #sock = dgram.createSocket('udp4');
  #port = 0;
  readonly callId = `${randomBytes(8).toString('hex')}@client`;
  readonly #fromTag = randomBytes(4).toString('hex');
  #toTag: string | undefined;
  #cseq = 1;
  #remoteTarget = '';
  #requestUri = '';
  #toHeader = '';
  /** Route set of the dialog: the 2xx's Record-Route in reverse order (RFC 3261 §12.1.2). */
  #routeSet: readonly string[] = [];
  #auth: string | undefined;
  #waiters = new Map<string, (m: SipResponse) => void>();
  #closed = false;
  #tls: tls.TLSSocket | null = null;
  /** Set when the reflector ended the dialog with its own BYE. */
  remoteBye = false;

  constructor(o: SipClientOptions) {
    super();
    this.#o = o;
    this.#sock.on('error', () => { /* reported through timeouts */ });
    this.#sock.on('message', (buf, rinfo) => { this.#onDatagram(buf, rinfo.address, rinfo.port); });
  }

  async bind(): Promise<number> {
    if (this.#o.tls === true) return this.#connectTls();
    await new Promise<void>((resolve, reject) => {
      this.#sock.once('error', reject);
      this.#sock.bind(this.#o.localPort ?? 0, this.#o.localAddress, () => { this.#sock.off('error', reject); resolve(); });
    });
    this.#port = this.#sock.address().port;
    return this.#port;
  }

  get port(): number { return this.#port; }

  async #connectTls(): Promise<number> {
    const tcp = net.connect({ host: this.#o.server, port: this.#o.serverPort, localAddress: this.#o.localAddress });
    tcp.on('error', () => { /* surfaces as the TLS socket's error */ });
    const sock = tls.connect({
      socket: tcp,
      // The name the certificate must carry: the server's address (an IP literal: no SNI).
      host: this.#o.server, ...(net.isIP(this.#o.server) === 0 ? { servername: this.#o.server } : {}),
      rejectUnauthorized: this.#o.tlsVerify !== false, ...(this.#o.tlsCa !== undefined ? { ca: this.#o.tlsCa } : {}),
      minVersion: 'TLSv1.2',
    });
    this.#tls = sock;
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('secureConnect', () => { sock.off('error', reject); resolve(); });
    });
    sock.on('error', () => { /* reported through timeouts */ });
    const framer = new StreamFramer();
    const frames: Frame[] = [];
    sock.on('data', (chunk: Buffer) => {
      frames.length = 0;
      const err = framer.push(chunk, frames);
      for (const f of frames) this.#onFrame(f, this.#o.server, this.#o.serverPort);
      if (err !== null) sock.destroy();
    });
    this.#port = sock.localPort ?? 0;
    return this.#port;
  }

  #send(data: Buffer, port = this.#o.serverPort, address = this.#o.server): void {
    if (this.#tls !== null) { if (!this.#tls.destroyed) this.#tls.write(data); return; }
    this.#sock.send(data, port, address);
  }

  get #transportName(): string { return this.#o.tls === true ? 'TLS' : 'UDP'; }

  #onDatagram(buf: Buffer, address: string, port: number): void {
    const f = frameDatagram(buf);
    if (typeof f === 'string') return;
    this.#onFrame(f, address, port);
  }

  #onFrame(f: Frame, address: string, port: number): void {
    const r = parseSipMessage(f.head, f.body);
    if (!r.ok) return;
    const m: SipMessage = r.message;
    if (m.kind === 'response') {
      const branch = m.via[0]?.branch ?? '';
      const w = this.#waiters.get(branch);
      if (w !== undefined) w(m);
      return;
    }
    this.#onRequest(m, address, port);
  }

  #onRequest(req: SipRequest, address: string, port: number): void {
    const resp = (status: number, reason: string): void => {
      const headers: [string, string][] = [];
      for (const v of req.via) headers.push(['Via', v.raw]);
      headers.push(['From', req.headers.get('from') ?? ''], ['To', req.headers.get('to') ?? ''],
        ['Call-ID', req.callId], ['CSeq', req.headers.get('cseq') ?? '']);
      this.#send(serialise({ startLine: `SIP/2.0 ${status} ${reason}`, headers }), port, address);
    };
    if (req.method === 'BYE' && req.callId === this.callId) {
      resp(200, 'OK');
      if (!this.remoteBye) {
        this.remoteBye = true;
        this.emit('bye');
      }
    } else if (req.method === 'OPTIONS') resp(200, 'OK');
    else if (req.method !== 'ACK') resp(481, 'Call/Transaction Does Not Exist');
  }

  #via(branch: string): string {
    return `SIP/2.0/${this.#transportName} ${this.#o.localAddress}:${this.#port};branch=${branch};rport`;
  }

  /** Sends a request and resolves with its final response (UDP retransmission as Timer A/E). */
  async #transaction(method: string, uri: string, extra: [string, string][], body?: string, timeoutMs = 8000): Promise<{ final: SipResponse; branch: string }> {
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
    const cseq = method === 'ACK' ? this.#cseq : ++this.#cseq;
    const headers: [string, string][] = [
      ['Via', this.#via(branch)], ['Max-Forwards', '70'],
      ['From', `${this.#displayPart()}<sip:${this.#o.user ?? 'client'}@${this.#o.localAddress}>;tag=${this.#fromTag}`],
      ['To', this.#toHeader + (this.#toTag !== undefined ? `;tag=${this.#toTag}` : '')],
      ['Call-ID', this.callId], ['CSeq', `${cseq} ${method}`],
      ['Contact', `<sip:${this.#o.user ?? 'client'}@${this.#o.localAddress}:${this.#port}${this.#o.tls === true ? ';transport=tls' : ''}>`],
      ...this.#routes(),
      ...extra,
    ];
    if (body !== undefined) headers.push(['Content-Type', 'application/sdp']);
    const data = serialise({ startLine: `${method} ${uri} SIP/2.0`, headers, ...(body !== undefined ? { body } : {}) });
    return new Promise((resolve, reject) => {
      let interval = 500;
      let retx: NodeJS.Timeout | undefined;
      const send = (): void => { this.#send(data); };
      const again = (): void => {
        if (this.#tls !== null) return; // reliable transport: no retransmissions (RFC 3261 §17.1.1.2)
        retx = setTimeout(() => { send(); interval = Math.min(interval * 2, 4000); again(); }, interval);
      };
      const overall = setTimeout(() => { cleanup(); reject(new Error(`${method}: no final response`)); }, timeoutMs);
      const cleanup = (): void => { clearTimeout(overall); if (retx) clearTimeout(retx); this.#waiters.delete(branch); };
      this.#waiters.set(branch, (m) => {
        if (m.status < 200) { if (retx) clearTimeout(retx); retx = undefined; return; }
        cleanup();
        resolve({ final: m, branch });
      });
      send();
      again();
    });
  }

  #ackFor(res: SipResponse, branch: string, uri: string): void {
    // ACK for a non-2xx reuses the INVITE's branch; for a 2xx it is a new transaction (RFC 3261 §17.1.1.3, §13.2.2.4).
    const b = res.status >= 300 ? branch : `z9hG4bK${randomBytes(8).toString('hex')}`;
    const to = res.headers.get('to') ?? '';
    const headers: [string, string][] = [
      ['Via', this.#via(b)], ['Max-Forwards', '70'],
      ['From', `${this.#displayPart()}<sip:${this.#o.user ?? 'client'}@${this.#o.localAddress}>;tag=${this.#fromTag}`],
      ['To', to], ['Call-ID', this.callId], ['CSeq', `${res.cseq.seq} ACK`],
      // The ACK of a 2xx is in-dialog and follows the route set; that of a non-2xx goes where the INVITE went.
      ...(res.status < 300 ? this.#routes() : []),
    ];
    if (this.#auth !== undefined && res.status < 300) headers.push(['Authorization', this.#auth]);
    this.#send(serialise({ startLine: `ACK ${uri} SIP/2.0`, headers }));
  }

  /** Route headers of in-dialog requests (loose routing: every request still goes to the server). */
  #routes(): [string, string][] {
    return this.#toTag !== undefined ? this.#routeSet.map((r) => ['Route', r] as [string, string]) : [];
  }

  #authorization(challenges: string[], method: string, uri: string): { value: string; algorithm: string } | undefined {
    const supported = this.#o.algorithms ?? ['SHA-256', 'MD5'];
    // Use the first challenge (server order) whose algorithm we support.
    for (const c of challenges) {
      const p = parseChallenge(c);
      const alg = supported.find((a) => a === p?.algorithm);
      if (p === undefined || alg === undefined) continue;
      const user = this.#o.user ?? '';
      const ha1 = computeHa1(alg, user, p.realm, this.#o.password ?? '');
      const cnonce = randomBytes(8).toString('hex');
      const nc = '00000001';
      const response = digestResponse(alg, ha1, method, { nonce: p.nonce, uri, qop: 'auth', nc, cnonce });
      return {
        algorithm: p.algorithm,
        value: `Digest username="${user}", realm="${p.realm}", nonce="${p.nonce}", uri="${uri}", response="${response}", algorithm=${p.algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`,
      };
    }
    return undefined;
  }

  /** `"Name" ` before the From URI, or nothing. */
  #displayPart(): string {
    const n = this.#o.displayName;
    return n === undefined || n === '' ? '' : `"${n.replace(/["\\]/g, '\\$&')}" `;
  }

  /** INVITE sip:<session>@server (percent-encoded), answering one challenge. */
  async invite(session: string, sdp: string, uriParams = ''): Promise<CallResult> {
    const host = `${this.#o.server}:${this.#o.serverPort}`;
    this.#requestUri = `sip:${encodeURIComponent(session)}@${host}${this.#o.tls === true ? ';transport=tls' : ''}${uriParams}`;
    this.#toHeader = `<${this.#requestUri}>`;
    const statuses: number[] = [];
    let { final, branch } = await this.#transaction('INVITE', this.#requestUri, [], sdp);
    statuses.push(final.status);
    let algorithm: string | undefined;
    for (let round = 0; round < 2 && (final.status === 401 || final.status === 407); round++) {
      this.#ackFor(final, branch, this.#requestUri);
      // 401 from the server itself (WWW-Authenticate → Authorization), 407 from a proxy on the way
      // (Proxy-Authenticate → Proxy-Authorization, RFC 3261 §22.3).
      const proxy = final.status === 407;
      const challenges = splitChallenges(final.headers.get(proxy ? 'proxy-authenticate' : 'www-authenticate') ?? '');
      const a = this.#authorization(challenges, 'INVITE', this.#requestUri);
      if (a === undefined) break;
      algorithm = a.algorithm;
      this.#auth = proxy ? undefined : a.value;
      ({ final, branch } = await this.#transaction('INVITE', this.#requestUri, [[proxy ? 'Proxy-Authorization' : 'Authorization', a.value]], sdp));
      statuses.push(final.status);
    }
    const contact = final.headers.get('contact');
    const na = contact !== undefined ? parseNameAddr(splitHeaderList(contact)[0] ?? '') : undefined;
    this.#remoteTarget = na?.uri ?? this.#requestUri;
    if (final.status >= 200 && final.status < 300) {
      this.#routeSet = splitHeaderList(final.headers.get('record-route') ?? '').reverse();
      this.#toTag = final.to.tag;
      this.#ackFor(final, branch, this.#remoteTarget);
    } else if (final.status >= 300) {
      this.#ackFor(final, branch, this.#requestUri);
    }
    return {
      status: final.status, reason: final.reason, statuses,
      ...(final.body.length > 0 ? { answerSdp: final.body.toString('utf8') } : {}),
      ...(algorithm !== undefined ? { algorithm } : {}),
    };
  }

  async reInvite(sdp: string): Promise<CallResult> {
    const extra: [string, string][] = this.#auth !== undefined ? [['Authorization', this.#auth]] : [];
    const { final, branch } = await this.#transaction('INVITE', this.#remoteTarget, extra, sdp);
    if (final.status < 300) this.#ackFor(final, branch, this.#remoteTarget);
    else this.#ackFor(final, branch, this.#remoteTarget);
    return { status: final.status, reason: final.reason, statuses: [final.status], ...(final.body.length > 0 ? { answerSdp: final.body.toString('utf8') } : {}) };
  }

  async bye(): Promise<number> {
    if (this.remoteBye) return 0;
    const { final } = await this.#transaction('BYE', this.#remoteTarget, []);
    return final.status;
  }

  async options(): Promise<SipResponse> {
    this.#requestUri = `sip:${this.#o.server}:${this.#o.serverPort}`;
    this.#toHeader = `<${this.#requestUri}>`;
    return (await this.#transaction('OPTIONS', this.#requestUri, [])).final;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.keys()) this.#waiters.delete(w);
    this.#sock.close();
    this.#tls?.destroy();
  }
}

/** Splits comma-joined WWW-Authenticate values into one string per challenge. */
export function splitChallenges(value: string): string[] {
  return value.split(/,\s*(?=Digest\s)/i).map((s) => s.trim()).filter((s) => s.length > 0);
}
