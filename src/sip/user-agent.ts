/**
 * The reflector's SIP user agent (SPEC §4): routes parsed messages to
 * transactions and dialogs, turns an INVITE into a participant of the core,
 * re-INVITE into core.update, BYE/CANCEL into core.leave, and sends its own BYE
 * when the core removes a participant for another reason.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Config } from '../config/types.js';
import { AdmissionError, type LeaveReason, type ReflectorCore, type StreamSpec } from '../reflector/api.js';
import type { Logger } from '../runtime/logger.js';
import { TimerSet } from '../runtime/timer-set.js';
import { NonInviteClientTransaction } from './client-non-invite-transaction.js';
import { DigestAuthenticator, FailureLimiter, parseAuthorization, type DigestCredentials } from './digest.js';
import { hostAllowed } from './host-filter.js';
import {
  parseNameAddr, parseSipUri, safeReason, serialise, splitHeaderList,
  type ParseResult, type PartialRequest, type SipRequest, type SipResponse, type ViaHop,
} from './message.js';
import { negotiate, sdpForStreams } from './sdp-negotiate.js';
import { KeyExposureWarning } from './sdp-crypto.js';
import { InviteServerTransaction } from './server-invite-transaction.js';
import { NonInviteServerTransaction } from './server-non-invite-transaction.js';
import { decodeSessionName } from './session-name.js';
import type { TransactionIo } from './timers.js';
import type { SipSource } from './transport.js';

export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS';
const SERVER = 'rtp-reflector';
const BRANCH_COOKIE = 'z9hG4bK';

export interface UserAgentOptions {
  /**
   * Test hook: delay between 100 Trying and the 2xx of an initial INVITE, so
   * that a CANCEL can arrive before the answer. 0 (default) answers at once.
   */
  readonly answerDelayMs?: number;
  readonly nonceTtlMs?: number;
  readonly maxServerTransactions?: number;
  readonly maxClientTransactions?: number;
  /** Failures from one IP before it is blocked for the window. */
  readonly authFailureLimit?: number;
  readonly authFailureWindowMs?: number;
}

export interface SendPort {
  send(dest: SipSource, data: Buffer): boolean;
  readonly port: number;
  /** The SIP over TLS port (SPEC §15), 0 or absent without TLS. */
  readonly tlsPort?: number;
}

type DialogState = 'early' | 'confirmed' | 'terminated';

interface Dialog {
  readonly key: string;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** To header value of the INVITE plus our tag: From of our requests. */
  readonly localNameAddr: string;
  /** From header value of the INVITE: To of our requests. */
  readonly remoteNameAddr: string;
  readonly remoteTarget: string;
  readonly routeSet: readonly string[];
  /** Where signalling comes from and goes to. */
  readonly source: SipSource;
  readonly participantId: string;
  readonly session: string;
  readonly user?: string;
  readonly mode: 'mix' | 'reflect';
  state: DialogState;
  remoteCseq: number;
  localCseq: number;
  /** The INVITE transaction whose 2xx waits for its ACK. */
  invite: InviteServerTransaction | null;
  inviteCseq: number;
  sdpSessionId: number;
  sdpVersion: number;
  streams: readonly StreamSpec[];
}

type ServerTx = InviteServerTransaction | NonInviteServerTransaction;

interface ResponseOpts {
  readonly toTag?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: string;
}
type InviteResponder = (status: number, reason: string, opts?: ResponseOpts) => Buffer;

export class SipUserAgent {
  #config: Config;
  readonly #log: Logger;
  readonly #core: ReflectorCore;
  readonly #port: SendPort;
  readonly #opts: UserAgentOptions;
  readonly #auth: DigestAuthenticator;
  readonly #limiter: FailureLimiter;
  readonly #timers = new TimerSet();
  readonly #serverTx = new Map<string, ServerTx>();
  readonly #clientTx = new Map<string, NonInviteClientTransaction>();
  /** Branches of our BYEs that have no final response yet (shutdown waits for them). */
  readonly #awaitingFinal = new Set<string>();
  readonly #dialogs = new Map<string, Dialog>();
  readonly #byParticipant = new Map<string, Dialog>();
  /** Initial INVITEs waiting for their (delayed) answer, by transaction key. */
  readonly #pendingAnswers = new Map<string, { dialog: Dialog; answer: Buffer }>();
  readonly #counts = new Map<string, number>();
  #closing = false;
  readonly #keyWarning = new KeyExposureWarning();
  readonly #onRemoved: (id: string, session: string, reason: LeaveReason) => void;

  constructor(config: Config, log: Logger, core: ReflectorCore, port: SendPort, opts: UserAgentOptions = {}) {
    this.#config = config;
    this.#log = log;
    this.#core = core;
    this.#port = port;
    this.#opts = opts;
    this.#auth = new DigestAuthenticator({
      realm: config.sipRealm, algorithms: config.sipDigestAlgorithms, users: config.sipUsers,
      ...(opts.nonceTtlMs !== undefined ? { nonceTtlMs: opts.nonceTtlMs } : {}),
    });
    this.#limiter = new FailureLimiter(opts.authFailureLimit ?? 5, opts.authFailureWindowMs ?? 60_000);
    this.#onRemoved = (id, _session, reason) => { this.#participantRemoved(id, reason); };
    core.events.on('participant-removed', this.#onRemoved);
  }

  reload(config: Config): void {
    this.#config = config;
    this.#auth.reconfigure(config.sipRealm, config.sipDigestAlgorithms, config.sipUsers);
  }

  #count(key: string, n = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.#counts);
    out.dialogs = this.#dialogs.size;
    out.server_transactions = this.#serverTx.size;
    out.client_transactions = this.#clientTx.size;
    return out;
  }

  /** Entry point from the transport. Never throws. */
  onMessage(r: ParseResult, src: SipSource): void {
    try {
      if (!r.ok) {
        this.#count('parse_drops');
        // A request whose Via is readable but another header is broken gets 400 (not ACK).
        if (r.partial !== undefined && r.partial.method.toUpperCase() !== 'ACK') {
          this.#respondStateless(r.partial, src, 400, `Bad Request (${r.detail})`);
        }
        return;
      }
      const m = r.message;
      if (!hostAllowed(this.#config.hostsAllow, this.#config.hostsDeny, src.address)) {
        this.#count('host_denied');
        if (m.kind === 'request' && m.method !== 'ACK') this.#respondStateless(m, src, 403, 'Forbidden by host policy');
        return;
      }
      if (m.kind === 'response') this.#onResponse(m);
      else this.#onRequest(m, src);
    } catch (err) {
      this.#count('internal_errors');
      this.#log.error('sip_internal_error', { error: err instanceof Error ? err.stack : String(err) });
    }
  }

  // -------------------------------------------------------------------------
  // responses

  #replyTarget(via: ViaHop, src: SipSource): SipSource {
    if (src.transport !== 'udp') return src;
    // RFC 3581 §4: with rport, answer to the source port; else RFC 3261 §18.2.2 to the Via port at the source IP.
    if (via.rport) return src;
    return { transport: 'udp', address: src.address, port: via.port ?? 5060 };
  }

  #buildResponse(req: SipRequest | PartialRequest, src: SipSource, status: number, reason: string,
    opts: ResponseOpts = {}): Buffer {
    const headers: [string, string][] = [];
    const [top, ...rest] = req.via;
    if (top !== undefined) {
      let v = top.raw.replace(/;\s*received\s*=\s*[^;]*/gi, '');
      if (top.rport) v = v.replace(/;\s*rport(\s*=\s*[^;]*)?/i, `;rport=${src.port}`);
      headers.push(['Via', `${v};received=${src.address}`]);
    }
    for (const h of rest) headers.push(['Via', h.raw]);
    const from = req.headers.get('from');
    let to = req.headers.get('to');
    if (to !== undefined && opts.toTag !== undefined && status > 100 && !/;\s*tag\s*=/i.test(to)) to = `${to};tag=${opts.toTag}`;
    if (from !== undefined) headers.push(['From', from]);
    if (to !== undefined) headers.push(['To', to]);
    const callId = req.headers.get('call-id');
    if (callId !== undefined) headers.push(['Call-ID', callId]);
    const cseq = req.headers.get('cseq');
    if (cseq !== undefined) headers.push(['CSeq', cseq]);
    headers.push(['Server', SERVER]);
    for (const h of opts.headers ?? []) headers.push([h[0], h[1]]);
    this.#count(`responses_${status}`);
    return serialise({
      startLine: `SIP/2.0 ${status} ${safeReason(reason)}`,
      headers,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
  }

  #respondStateless(req: SipRequest | PartialRequest, src: SipSource, status: number, reason: string,
    headers?: readonly (readonly [string, string])[]): void {
    const top = req.via[0];
    if (top === undefined) return;
    this.#port.send(this.#replyTarget(top, src), this.#buildResponse(req, src, status, reason, headers !== undefined ? { headers } : {}));
  }

  // -------------------------------------------------------------------------
  // requests

  #txKey(req: SipRequest, method: string): string {
    const top = req.via[0];
    const branch = top?.branch ?? '';
    if (branch.startsWith(BRANCH_COOKIE)) return `${branch}|${top?.host ?? ''}:${top?.port ?? ''}|${method}`;
    // RFC 2543 fallback (RFC 3261 §17.2.3).
    return `${req.callId}|${req.cseq.seq}|${req.from.tag ?? ''}|${top?.raw ?? ''}|${method}`;
  }

  #io(req: SipRequest, src: SipSource): TransactionIo {
    const top = req.via[0];
    const dest = top !== undefined ? this.#replyTarget(top, src) : src;
    return { reliable: src.transport !== 'udp', send: (data) => { this.#port.send(dest, data); } };
  }

  #onRequest(req: SipRequest, src: SipSource): void {
    const method = req.method;
    // Retransmission of a request of a live server transaction (ACK matches its INVITE).
    const key = this.#txKey(req, method === 'ACK' ? 'INVITE' : method);
    const existing = this.#serverTx.get(key);
    if (existing !== undefined) {
      if (method === 'ACK') {
        if (existing instanceof InviteServerTransaction && existing.state === 'completed') existing.handle({ type: 'ack' });
        else this.#onAck(req, src);
        return;
      }
      existing.handle({ type: 'retransmission' });
      return;
    }
    if (method === 'ACK') {
      this.#onAck(req, src);
      return;
    }
    if (method === 'CANCEL') {
      this.#onCancel(req, src);
      return;
    }
    if (this.#serverTx.size >= (this.#opts.maxServerTransactions ?? 20_000)) {
      this.#count('server_transactions_full');
      this.#respondStateless(req, src, 503, 'Service Unavailable', [['Retry-After', '5']]);
      return;
    }
    const io = this.#io(req, src);
    if (method === 'INVITE') {
      const tx: InviteServerTransaction = new InviteServerTransaction(io, {
        onAckTimeout: (status) => { this.#onAckTimeout(tx, status); },
        onTerminated: () => { this.#serverTx.delete(key); },
      });
      this.#serverTx.set(key, tx);
      const respond = (status: number, reason: string, opts: ResponseOpts = {}): Buffer => {
        const data = this.#buildResponse(req, src, status, reason, opts);
        tx.handle({ type: 'respond', status, data });
        return data;
      };
      try {
        this.#onInvite(req, src, key, tx, respond);
      } catch (err) {
        this.#count('internal_errors');
        this.#log.error('sip_internal_error', { error: err instanceof Error ? err.stack : String(err) });
        if (tx.state === 'proceeding') respond(500, 'Server Internal Error');
      }
      return;
    }
    const tx = new NonInviteServerTransaction(io, () => { this.#serverTx.delete(key); });
    this.#serverTx.set(key, tx);
    const respond = (status: number, reason: string, headers?: readonly (readonly [string, string])[]): void => {
      tx.handle({ type: 'respond', status, data: this.#buildResponse(req, src, status, reason, headers !== undefined ? { headers } : {}) });
    };
    try {
      switch (method) {
        case 'BYE':
          this.#onBye(req, src, respond);
          return;
        case 'OPTIONS':
          respond(200, 'OK', [['Allow', ALLOW], ['Accept', 'application/sdp']]);
          return;
        default:
          respond(405, 'Method Not Allowed', [['Allow', ALLOW]]);
          return;
      }
    } catch (err) {
      this.#count('internal_errors');
      this.#log.error('sip_internal_error', { error: err instanceof Error ? err.stack : String(err) });
      if (tx.state === 'trying') respond(500, 'Server Internal Error');
    }
  }

  #dialogOf(req: SipRequest): Dialog | undefined {
    const toTag = req.to.tag;
    const fromTag = req.from.tag;
    if (toTag === undefined || fromTag === undefined) return undefined;
    return this.#dialogs.get(`${req.callId}|${toTag}|${fromTag}`);
  }

  /** In-dialog requests must come from the dialog's signalling source (same transport and IP). */
  #fromDialogSource(d: Dialog, src: SipSource): boolean {
    return d.source.transport === src.transport && d.source.address === src.address;
  }

  /** Credentials carried by an in-dialog request are checked, never challenged. */
  #inDialogCredentialsOk(d: Dialog, req: SipRequest): boolean {
    if (!this.#config.sipAuth) return true;
    const value = req.headers.get('authorization');
    if (value === undefined) return true;
    const creds = this.#pickCredentials(value);
    if (creds === undefined) return true; // credentials for another realm: not ours to check
    let v = this.#auth.verify(creds, req.method, true);
    // The ACK of a 2xx repeats the INVITE's credentials (RFC 3261 §17.1.1.3): computed for INVITE.
    if (!v.ok && req.method === 'ACK') v = this.#auth.verify(creds, 'INVITE', true);
    if (v.ok && (d.user === undefined || d.user === v.user)) return true;
    this.#count('auth_failures');
    return false;
  }

  #pickCredentials(value: string): DigestCredentials | undefined {
    const all = parseAuthorization(value);
    return all.find((c) => c.realm === this.#auth.realm && this.#config.sipDigestAlgorithms.includes(c.algorithm));
  }

  #onInvite(req: SipRequest, src: SipSource, key: string, tx: InviteServerTransaction,
    respond: InviteResponder): void {
    if (req.to.tag !== undefined) {
      this.#onReInvite(req, src, tx, respond);
      return;
    }
    const maxFwd = req.headers.get('max-forwards');
    if (maxFwd !== undefined && /^\s*0+\s*$/.test(maxFwd)) { respond(483, 'Too Many Hops'); return; }
    const require = req.headers.get('require');
    if (require !== undefined && require.trim().length > 0) {
      respond(420, 'Bad Extension', { headers: [['Unsupported', require.trim()]] });
      return;
    }
    if (this.#closing) { respond(503, 'Service Unavailable (shutting down)', { headers: [['Retry-After', '30']] }); return; }
    const ruri = parseSipUri(req.uri);
    if (ruri === undefined) { respond(416, 'Unsupported URI Scheme'); return; }
    // RFC 5630 §3.1.3: a sips: Request-URI promises TLS on every hop, so it cannot arrive over UDP/TCP.
    if (ruri.scheme === 'sips' && src.transport !== 'tls') { respond(416, 'Unsupported URI Scheme (sips: needs TLS)'); return; }
    const name = decodeSessionName(ruri.user);
    if (!name.ok) { respond(400, name.reason); return; }
    const modeParam = ruri.params.mode;
    const mode = modeParam === 'mix' || modeParam === 'reflect' ? modeParam : this.#config.audioMode;

    // Digest (SPEC §4).
    let user: string | undefined;
    if (this.#config.sipAuth) {
      if (this.#limiter.blocked(src.address)) {
        this.#count('auth_rate_limited');
        respond(403, 'Too many authentication failures');
        return;
      }
      const value = req.headers.get('authorization');
      const creds = value !== undefined ? this.#pickCredentials(value) : undefined;
      if (creds === undefined) {
        this.#count('auth_challenges');
        respond(401, 'Unauthorized', { toTag: this.#newTag(), headers: this.#auth.challenges(false).map((c) => ['WWW-Authenticate', c] as const) });
        return;
      }
      const v = this.#auth.verify(creds, 'INVITE', false);
      if (!v.ok) {
        if (v.reason === 'stale') {
          this.#count('auth_challenges');
          respond(401, 'Unauthorized', { toTag: this.#newTag(), headers: this.#auth.challenges(true).map((c) => ['WWW-Authenticate', c] as const) });
          return;
        }
        this.#count('auth_failures');
        this.#limiter.fail(src.address);
        this.#log.info('sip_auth_failed', { source: src.address, user: creds.username, reason: v.reason });
        if (v.reason === 'unknown_nonce') {
          respond(401, 'Unauthorized', { toTag: this.#newTag(), headers: this.#auth.challenges(false).map((c) => ['WWW-Authenticate', c] as const) });
          return;
        }
        respond(403, v.reason === 'replay' ? 'Forbidden (replayed credentials)' : 'Forbidden (bad credentials)');
        return;
      }
      user = v.user;
    } else {
      const fromUri = parseSipUri(req.from.uri);
      if (fromUri?.user !== undefined) {
        try { user = decodeURIComponent(fromUri.user).slice(0, 64); } catch { user = fromUri.user.slice(0, 64); }
      }
    }

    const ctype = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (req.body.length === 0 || ctype !== 'application/sdp') {
      respond(488, 'SDP offer required', { headers: [['Accept', 'application/sdp']] });
      return;
    }
    try {
      this.#core.checkAdmission(name.name);
    } catch (err) {
      if (err instanceof AdmissionError) { this.#respondAdmission(err, respond); return; }
      throw err;
    }
    const sdpSessionId = randomInt(1, 2 ** 31);
    const neg = negotiate({
      offer: req.body.toString('utf8'), mode,
      publicAddress: this.#config.publicAddress, audioPort: this.#config.audioPort, videoPort: this.#config.videoPort,
      audioCodecs: this.#config.audioCodecs, videoCodecs: this.#config.videoCodecs,
      sessionCodecs: (medium) => this.#core.sessionCodecs(name.name, medium),
      sessionId: sdpSessionId, sessionVersion: 1, srtp: this.#config.srtp,
    });
    if (!neg.ok) { respond(neg.status, neg.reason); return; }
    this.#keyWarning.check(this.#log, src.transport, neg.streams);
    if (this.#dialogs.size >= this.#config.maxParticipants + 64) {
      respond(503, 'Service Unavailable', { headers: [['Retry-After', '10']] });
      return;
    }
    let participantId: string;
    try {
      participantId = this.#core.join({
        session: name.name, ...(user !== undefined ? { user } : {}), signalingAddress: src.address, mode,
        streams: neg.streams, label: req.callId.slice(0, 128),
      });
    } catch (err) {
      if (err instanceof AdmissionError) { this.#respondAdmission(err, respond); return; }
      throw err;
    }
    const localTag = this.#newTag();
    const remoteTag = req.from.tag ?? '';
    const contact = this.#contactUri(req);
    const dialog: Dialog = {
      key: `${req.callId}|${localTag}|${remoteTag}`,
      callId: req.callId, localTag, remoteTag,
      localNameAddr: `${req.headers.get('to') ?? ''};tag=${localTag}`,
      remoteNameAddr: req.headers.get('from') ?? '',
      remoteTarget: contact ?? req.from.uri,
      routeSet: splitHeaderList(req.headers.get('record-route') ?? ''),
      source: src, participantId, session: name.name, ...(user !== undefined ? { user } : {}), mode,
      state: 'early', remoteCseq: req.cseq.seq, localCseq: randomInt(1, 10_000),
      invite: tx, inviteCseq: req.cseq.seq, sdpSessionId, sdpVersion: 1, streams: neg.streams,
    };
    this.#dialogs.set(dialog.key, dialog);
    this.#byParticipant.set(participantId, dialog);
    this.#count('joins');
    const okOpts = {
      toTag: localTag,
      headers: [['Contact', this.#ourContact(src, ruri.scheme === 'sips')], ['Allow', ALLOW], ['Content-Type', 'application/sdp']] as const,
      body: neg.answer,
    };
    const delay = this.#opts.answerDelayMs ?? 0;
    if (delay <= 0) {
      respond(200, 'OK', okOpts);
      return;
    }
    respond(100, 'Trying');
    const answer = this.#buildResponse(req, src, 200, 'OK', okOpts);
    this.#pendingAnswers.set(key, { dialog, answer });
    this.#timers.set(`answer:${key}`, delay, () => {
      const p = this.#pendingAnswers.get(key);
      this.#pendingAnswers.delete(key);
      if (p !== undefined && p.dialog.state === 'early') tx.handle({ type: 'respond', status: 200, data: p.answer });
    });
  }

  #respondAdmission(err: AdmissionError, respond: InviteResponder): void {
    this.#count(`admission_${err.code}`);
    if (err.code === 'session_full') respond(486, 'Busy Here (session full)');
    else respond(503, err.code === 'server_full' ? 'Service Unavailable (server full)' : 'Service Unavailable (too many sessions)', { headers: [['Retry-After', '30']] });
  }

  #onReInvite(req: SipRequest, src: SipSource, tx: InviteServerTransaction,
    respond: InviteResponder): void {
    const d = this.#dialogOf(req);
    if (d === undefined || d.state === 'terminated') { respond(481, 'Call/Transaction Does Not Exist'); return; }
    if (!this.#fromDialogSource(d, src)) { this.#count('in_dialog_wrong_source'); respond(403, 'Forbidden (not the dialog source)'); return; }
    if (!this.#inDialogCredentialsOk(d, req)) { respond(403, 'Forbidden (bad credentials)'); return; }
    if (req.cseq.seq <= d.remoteCseq) { respond(500, 'Server Internal Error (CSeq out of order)'); return; }
    if (d.invite !== null && d.invite.state === 'proceeding') {
      respond(500, 'Server Internal Error (INVITE pending)', { headers: [['Retry-After', '1']] });
      return;
    }
    d.remoteCseq = req.cseq.seq;
    const okHeaders = [['Contact', this.#ourContact(src)], ['Allow', ALLOW], ['Content-Type', 'application/sdp']] as const;
    d.sdpVersion++;
    const base = { publicAddress: this.#config.publicAddress, audioPort: this.#config.audioPort, videoPort: this.#config.videoPort, sessionId: d.sdpSessionId, sessionVersion: d.sdpVersion };
    let body: string;
    if (req.body.length === 0) {
      // Offer in our 2xx, answer in the ACK (RFC 3261 §13.2.1); media stays as it is.
      body = sdpForStreams(base, d.streams);
    } else {
      const neg = negotiate({
        ...base, offer: req.body.toString('utf8'), mode: d.mode,
        audioCodecs: this.#config.audioCodecs, videoCodecs: this.#config.videoCodecs,
        sessionCodecs: (medium) => this.#core.sessionCodecs(d.session, medium),
        srtp: this.#config.srtp, previousStreams: d.streams,
      });
      if (!neg.ok) { respond(neg.status, neg.reason); return; }
      this.#core.update(d.participantId, neg.streams);
      d.streams = neg.streams;
      body = neg.answer;
      this.#count('reinvites');
    }
    d.invite = tx;
    d.inviteCseq = req.cseq.seq;
    respond(200, 'OK', { toTag: d.localTag, headers: okHeaders, body });
  }

  #onAck(req: SipRequest, src: SipSource): void {
    const d = this.#dialogOf(req);
    if (d === undefined || d.state === 'terminated') { this.#count('stray_acks'); return; }
    if (!this.#fromDialogSource(d, src)) { this.#count('in_dialog_wrong_source'); return; }
    if (!this.#inDialogCredentialsOk(d, req)) return;
    if (d.invite !== null && req.cseq.seq === d.inviteCseq) {
      d.invite.handle({ type: 'ack-2xx' });
      d.invite = null;
    }
    if (d.state === 'early') {
      d.state = 'confirmed';
      this.#core.confirmAddress(d.participantId, src.address);
    }
  }

  #onCancel(req: SipRequest, src: SipSource): void {
    const io = this.#io(req, src);
    const inviteKey = this.#txKey(req, 'INVITE');
    const inviteTx = this.#serverTx.get(inviteKey);
    const data = (status: number, reason: string): Buffer => this.#buildResponse(req, src, status, reason);
    if (!(inviteTx instanceof InviteServerTransaction)) {
      io.send(data(481, 'Call/Transaction Does Not Exist'));
      return;
    }
    const cancelKey = this.#txKey(req, 'CANCEL');
    const tx = new NonInviteServerTransaction(io, () => { this.#serverTx.delete(cancelKey); });
    this.#serverTx.set(cancelKey, tx);
    // RFC 3261 §9.2: 200 to the CANCEL; if the INVITE is still unanswered, 487 to it.
    tx.handle({ type: 'respond', status: 200, data: data(200, 'OK') });
    if (inviteTx.state !== 'proceeding') return;
    const pending = this.#pendingAnswers.get(inviteKey);
    this.#pendingAnswers.delete(inviteKey);
    this.#timers.clear(`answer:${inviteKey}`);
    const d = pending?.dialog;
    if (d !== undefined) {
      this.#endDialog(d);
      this.#core.leave(d.participantId, 'cancel');
      this.#count('cancels');
    }
    // The INVITE's request data is needed for the 487; rebuild it from the CANCEL (same Via/From/To/Call-ID, CSeq method INVITE).
    const inviteLike: PartialRequest = {
      method: 'INVITE', via: req.via,
      headers: new Map([...req.headers].map(([k, v]) => [k, k === 'cseq' ? `${req.cseq.seq} INVITE` : v] as [string, string])),
    };
    inviteTx.handle({ type: 'respond', status: 487, data: this.#buildResponse(inviteLike, src, 487, 'Request Terminated', d !== undefined ? { toTag: d.localTag } : { toTag: this.#newTag() }) });
  }

  #onBye(req: SipRequest, src: SipSource, respond: (status: number, reason: string) => void): void {
    const d = this.#dialogOf(req);
    if (d === undefined || d.state === 'terminated') { respond(481, 'Call/Transaction Does Not Exist'); return; }
    if (!this.#fromDialogSource(d, src)) { this.#count('in_dialog_wrong_source'); respond(403, 'Forbidden (not the dialog source)'); return; }
    if (!this.#inDialogCredentialsOk(d, req)) { respond(403, 'Forbidden (bad credentials)'); return; }
    this.#endDialog(d);
    respond(200, 'OK');
    this.#core.leave(d.participantId, 'bye');
    this.#count('byes_received');
  }

  #onAckTimeout(tx: InviteServerTransaction, status: number): void {
    if (status < 200 || status >= 300) return; // non-2xx without ACK: the transaction just ends
    let d: Dialog | undefined;
    for (const x of this.#dialogs.values()) if (x.invite === tx) { d = x; break; }
    if (d === undefined) return;
    d.invite = null;
    this.#count('ack_timeouts');
    this.#log.info('sip_ack_timeout', { session: d.session, participant: d.participantId });
    // The removed event sends the BYE (reason is neither bye nor cancel).
    this.#core.leave(d.participantId, 'ack_timeout');
  }

  #participantRemoved(id: string, reason: LeaveReason): void {
    try {
      const d = this.#byParticipant.get(id);
      if (d === undefined) return;
      this.#endDialog(d);
      if (reason === 'bye' || reason === 'cancel') return;
      this.#sendBye(d);
    } catch (err) {
      this.#count('internal_errors');
      this.#log.error('sip_internal_error', { error: err instanceof Error ? err.stack : String(err) });
    }
  }

  #endDialog(d: Dialog): void {
    d.state = 'terminated';
    this.#dialogs.delete(d.key);
    this.#byParticipant.delete(d.participantId);
    if (d.invite !== null) {
      const tx = d.invite;
      d.invite = null;
      if (tx.state === 'accepted') tx.dispose();
    }
  }

  /** The reflector's own BYE (RFC 3261 §15.1.1) as a non-INVITE client transaction. */
  #sendBye(d: Dialog): void {
    if (this.#clientTx.size >= (this.#opts.maxClientTransactions ?? 4096)) { this.#count('client_transactions_full'); return; }
    const branch = `${BRANCH_COOKIE}${randomBytes(8).toString('hex')}`;
    const transport = d.source.transport.toUpperCase();
    d.localCseq++;
    const headers: [string, string][] = [
      ['Via', `SIP/2.0/${transport} ${this.#hostPort(d.source)};branch=${branch};rport`],
      ['Max-Forwards', '70'],
      ['From', d.localNameAddr],
      ['To', d.remoteNameAddr],
      ['Call-ID', d.callId],
      ['CSeq', `${d.localCseq} BYE`],
    ];
    for (const r of d.routeSet) headers.push(['Route', r]);
    headers.push(['User-Agent', SERVER]);
    const data = serialise({ startLine: `BYE ${d.remoteTarget} SIP/2.0`, headers });
    const dest = d.source;
    const tx = new NonInviteClientTransaction(
      { reliable: dest.transport !== 'udp', send: (b) => { if (!this.#port.send(dest, b)) this.#count('bye_send_failed'); } },
      data,
      {
        onFinal: (status) => { this.#awaitingFinal.delete(branch); this.#count(`bye_final_${status}`); },
        onTerminated: () => { this.#clientTx.delete(branch); this.#awaitingFinal.delete(branch); },
      },
    );
    this.#clientTx.set(branch, tx);
    this.#awaitingFinal.add(branch);
    this.#count('byes_sent');
    this.#log.info('sip_bye_sent', { session: d.session, participant: d.participantId });
    tx.start();
  }

  #onResponse(res: SipResponse): void {
    const branch = res.via[0]?.branch;
    const tx = branch !== undefined ? this.#clientTx.get(branch) : undefined;
    if (tx === undefined) { this.#count('stray_responses'); return; }
    tx.handle({ type: 'response', status: res.status });
  }

  #contactUri(req: SipRequest): string | undefined {
    const c = req.headers.get('contact');
    if (c === undefined) return undefined;
    const first = splitHeaderList(c)[0];
    const na = first !== undefined ? parseNameAddr(first) : undefined;
    return na !== undefined && parseSipUri(na.uri) !== undefined ? na.uri : undefined;
  }

  #hostPort(src?: SipSource): string {
    const a = this.#config.publicAddress;
    const port = src?.transport === 'tls' ? this.#port.tlsPort ?? this.#port.port : this.#port.port;
    return `${a.includes(':') ? `[${a}]` : a}:${port}`;
  }

  /** Our Contact: over TLS `sips:` when the request used a sips: URI, else `;transport=tls` (RFC 5630 §3.1.3). */
  #ourContact(src: SipSource, sips = false): string {
    if (src.transport === 'tls') return sips ? `<sips:${this.#hostPort(src)}>` : `<sip:${this.#hostPort(src)};transport=tls>`;
    return `<sip:${this.#hostPort(src)}${src.transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  #newTag(): string {
    return randomBytes(6).toString('hex');
  }

  /** Leaves every SIP participant with a BYE (SIGTERM) and waits a bounded time for the BYEs to complete. */
  async shutdown(waitMs = 2000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const d of [...this.#dialogs.values()]) {
      this.#endDialog(d);
      this.#sendBye(d);
      this.#core.leave(d.participantId, 'shutdown');
    }
    const deadline = Date.now() + waitMs;
    while (this.#awaitingFinal.size > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, 20); t.unref(); });
    }
  }

  dispose(): void {
    this.#core.events.off('participant-removed', this.#onRemoved);
    this.#timers.dispose();
    for (const tx of this.#serverTx.values()) tx.dispose();
    for (const tx of this.#clientTx.values()) tx.dispose();
    this.#serverTx.clear();
    this.#clientTx.clear();
    this.#dialogs.clear();
    this.#byParticipant.clear();
    this.#pendingAnswers.clear();
  }
}
