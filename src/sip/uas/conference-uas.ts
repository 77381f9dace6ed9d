/**
 * The conference UAS (SPEC §4): the transaction user above the transaction layer. An initial
 * INVITE is checked (hops, extensions, URI, session name, digest, SDP, admission) and becomes a
 * participant of the core and a Dialog; re-INVITE becomes core.update, BYE/CANCEL core.leave, and
 * when the core removes a participant for another reason the dialog's BYE goes out. Every refusal
 * is a thrown SipError that the transaction layer sends as the final response.
 */
import { randomInt } from 'node:crypto';
import type { Config } from '../../config/types.js';
import { AdmissionError, type LeaveReason, type ReflectorCore } from '../../reflector/api.js';
import { decodeSessionName } from '../../rtp/session-name.js';
import type { Logger } from '../../runtime/logger.js';
import { TimerSet } from '../../runtime/timer-set.js';
import type { SipAdmission } from '../admission.js';
import type { SipCounters } from '../counters.js';
import { Dialog, DialogTable } from '../dialog/dialog.js';
import { recordRouteHeaders } from '../dialog/route-set.js';
import { parseNameAddr, parseSipUri, splitHeaderList, type SipMessage, type SipRequest } from '../message.js';
import { SipError, type SipHeader } from '../sip-error.js';
import type { InviteServerTransaction } from '../transaction/invite-server.js';
import type { NonInviteServerTransaction } from '../transaction/non-invite-server.js';
import {
  newTag, type ServerRequest, type SipTransactionLayer, type TransactionUser,
} from '../transaction/transaction-layer.js';
import type { SipSource } from '../transport/transport.js';
import { InviteAuthentication, type AuthenticationOptions } from './authentication.js';
import { hostAllowed } from './host-filter.js';
import { KeyExposureWarning } from './sdp-crypto.js';
import { negotiate, sdpForStreams } from './sdp-negotiate.js';

export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS';
const ALLOWED = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS']);
/** SIP methods of RFC 3261 and its extensions that this UAS knows but does not allow: 405 (others: 501). */
const KNOWN_METHODS = new Set(['REGISTER', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'INFO', 'UPDATE', 'PRACK', 'PUBLISH']);

export interface ConferenceUasOptions extends AuthenticationOptions {
  /**
   * Test hook: delay between 100 Trying and the 2xx of an initial INVITE, so
   * that a CANCEL can arrive before the answer. 0 (default) answers at once.
   */
  readonly answerDelayMs?: number;
}

const NO_DIALOG = (): SipError => new SipError(481, 'Call/Transaction Does Not Exist');
const NOT_DIALOG_SOURCE = (): SipError => new SipError(403, 'Forbidden (not the dialog source)');
const BAD_CREDENTIALS = (): SipError => new SipError(403, 'Forbidden (bad credentials)');

export class ConferenceUas implements TransactionUser {
  #config: Config;
  readonly #log: Logger;
  readonly #core: ReflectorCore;
  readonly #tl: SipTransactionLayer;
  readonly #counts: SipCounters;
  readonly #opts: ConferenceUasOptions;
  readonly #auth: InviteAuthentication;
  readonly #timers = new TimerSet();
  readonly #dialogs: DialogTable;
  /** Initial INVITEs waiting for their (delayed) answer, by transaction key. */
  readonly #pendingAnswers = new Map<string, { dialog: Dialog; answer: Buffer }>();
  /** The user each initial INVITE authenticated as in screen() (verified once: a second check would be a replay). */
  readonly #authenticated = new WeakMap<SipRequest, string>();
  readonly #admission: SipAdmission | undefined;
  #closing = false;
  /** SPEC §15: one warning when SDES keys travel over plain SIP. */
  readonly #keyWarning = new KeyExposureWarning();
  /** Set while draining before a stop: Retry-After (seconds) of the 503 to OPTIONS and new INVITEs. */
  #drainRetryAfterS: number | null = null;
  readonly #onRemoved: (id: string, session: string, reason: LeaveReason) => void;

  constructor(config: Config, log: Logger, core: ReflectorCore, tl: SipTransactionLayer, counts: SipCounters,
    opts: ConferenceUasOptions = {}, admission?: SipAdmission) {
    this.#admission = admission;
    this.#dialogs = new DialogTable((d) => { admission?.releaseDialog(d.source.address); });
    this.#config = config;
    this.#log = log;
    this.#core = core;
    this.#tl = tl;
    this.#counts = counts;
    this.#opts = opts;
    this.#auth = new InviteAuthentication(config, log, counts, opts, admission);
    this.#onRemoved = (id, _session, reason) => { this.#participantRemoved(id, reason); };
    core.events.on('participant-removed', this.#onRemoved);
  }

  reload(config: Config): void {
    this.#config = config;
    this.#auth.reload(config);
  }

  get dialogCount(): number {
    return this.#dialogs.size;
  }

  // -------------------------------------------------------------------------
  // TransactionUser

  /**
   * Everything a request can be refused for before any state exists is decided here and answered
   * statelessly (the transaction layer sends the thrown SipError without a transaction, within the
   * budget for unverified sources): host policy, method (405/501), Request-URI scheme (416),
   * Require (420), in-dialog requests for no dialog or from elsewhere (481/403), and for an initial
   * INVITE hops (483), content type (415) and the digest challenge (401/403). An out-of-dialog
   * OPTIONS is answered statelessly too. So unauthenticated traffic creates no transaction.
   */
  screen(m: SipMessage, src: SipSource): boolean {
    if (!hostAllowed(this.#config.hostsAllow, this.#config.hostsDeny, src.address)) {
      this.#counts.add('host_denied');
      if (m.kind === 'request' && m.method !== 'ACK') throw new SipError(403, 'Forbidden by host policy');
      return false;
    }
    if (m.kind !== 'request' || m.method === 'ACK' || m.method === 'CANCEL') return true;
    // A retransmission goes to its transaction, which answers it again.
    if (this.#tl.matchesServerTransaction(m)) return true;
    if (!ALLOWED.has(m.method)) {
      if (KNOWN_METHODS.has(m.method)) throw new SipError(405, 'Method Not Allowed', [['Allow', ALLOW]]);
      throw new SipError(501, 'Not Implemented', [['Allow', ALLOW]]);
    }
    if (!/^sips?:/i.test(m.uri)) throw new SipError(416, 'Unsupported URI Scheme');
    const require = m.headers.get('require');
    if (require !== undefined && require.trim().length > 0) throw new SipError(420, 'Bad Extension', [['Unsupported', require.trim()]]);
    if (m.to.tag !== undefined) {
      // In-dialog: only the dialog's own source may go on to a transaction.
      const d = this.#dialogs.of(m);
      if (d === undefined || d.state === 'terminated') throw NO_DIALOG();
      if (!d.fromSource(src)) { this.#counts.add('in_dialog_wrong_source'); throw NOT_DIALOG_SOURCE(); }
      return true;
    }
    if (m.method === 'OPTIONS') {
      // 503 while draining, so that a dispatcher probing with OPTIONS takes this reflector out.
      if (this.#drainRetryAfterS !== null) throw this.#drainingError();
      throw new SipError(200, 'OK', [['Allow', ALLOW], ['Accept', 'application/sdp']]);
    }
    if (m.method === 'INVITE') this.#screenInitialInvite(m, src);
    return true;
  }

  /** The stateless checks of an initial INVITE, the digest challenge included (like Kamailio's sl reply). */
  #screenInitialInvite(req: SipRequest, src: SipSource): void {
    const maxFwd = req.headers.get('max-forwards');
    if (maxFwd !== undefined && /^\s*0+\s*$/.test(maxFwd)) throw new SipError(483, 'Too Many Hops');
    if (this.#closing) throw new SipError(503, 'Service Unavailable (shutting down)', [['Retry-After', '30']]);
    // Draining refuses new sessions before the challenge: a 401 would make the caller retry here, not elsewhere.
    if (this.#drainRetryAfterS !== null) throw this.#drainingError();
    const ruri = parseSipUri(req.uri);
    if (ruri === undefined) throw new SipError(416, 'Unsupported URI Scheme');
    const name = decodeSessionName(ruri.user);
    if (!name.ok) throw new SipError(400, name.reason);
    const ctype = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (req.body.length > 0 && ctype !== 'application/sdp') throw new SipError(415, 'Unsupported Media Type', [['Accept', 'application/sdp']]);
    if (this.#config.sipAuth) this.#authenticated.set(req, this.#auth.authenticateInvite(req, src));
  }

  onNonInvite(r: ServerRequest<NonInviteServerTransaction>): void {
    switch (r.req.method) {
      case 'BYE':
        this.#onBye(r);
        return;
      case 'OPTIONS':
        // Also a probe without user part (a dispatcher's): answered at once, never challenged;
        // 503 while draining, so that the dispatcher takes this reflector out.
        if (this.#drainRetryAfterS !== null) throw this.#drainingError();
        r.respond(200, 'OK', { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] });
        return;
      default:
        throw new SipError(405, 'Method Not Allowed', [['Allow', ALLOW]]);
    }
  }

  onInvite(r: ServerRequest<InviteServerTransaction>): void {
    if (r.req.to.tag !== undefined) this.#onReInvite(r);
    else this.#onInitialInvite(r);
  }

  onAck(req: SipRequest, src: SipSource): void {
    const d = this.#dialogs.of(req);
    if (d === undefined || d.state === 'terminated') { this.#counts.add('stray_acks'); return; }
    if (!d.fromSource(src)) { this.#counts.add('in_dialog_wrong_source'); return; }
    if (!this.#auth.inDialogOk(d.user, req)) return;
    if (d.acked(req.cseq.seq)) this.#core.confirmAddress(d.participantId, src.address);
  }

  onCancel(inviteKey: string): string | undefined {
    const pending = this.#pendingAnswers.get(inviteKey);
    this.#pendingAnswers.delete(inviteKey);
    this.#timers.clear(`answer:${inviteKey}`);
    const d = pending?.dialog;
    if (d === undefined) return undefined;
    this.#dialogs.end(d);
    this.#core.leave(d.participantId, 'cancel');
    this.#counts.add('cancels');
    return d.localTag;
  }

  onAckTimeout(tx: InviteServerTransaction, status: number): void {
    if (status < 200 || status >= 300) return; // non-2xx without ACK: the transaction just ends
    const d = this.#dialogs.byInvite(tx);
    if (d === undefined) return;
    d.invite = null;
    this.#counts.add('ack_timeouts');
    this.#log.info('sip_ack_timeout', { session: d.session, participant: d.participantId });
    // The removed event sends the BYE (reason is neither bye nor cancel).
    this.#core.leave(d.participantId, 'ack_timeout');
  }

  onTransportError(tx: InviteServerTransaction, status: number): void {
    // The INVITE of a dialog (its 100 or 2xx) cannot reach the caller, so no ACK will come: the
    // dialog ends now rather than at Timer L. Refused INVITEs have no dialog: nothing to do.
    const d = this.#dialogs.byInvite(tx);
    if (d === undefined) return;
    d.invite = null;
    this.#log.info('sip_transport_error', { session: d.session, participant: d.participantId, status });
    this.#core.leave(d.participantId, 'error');
  }

  // -------------------------------------------------------------------------
  // INVITE

  #onInitialInvite(r: ServerRequest<InviteServerTransaction>): void {
    const { req, src } = r;
    const maxFwd = req.headers.get('max-forwards');
    if (maxFwd !== undefined && /^\s*0+\s*$/.test(maxFwd)) throw new SipError(483, 'Too Many Hops');
    const require = req.headers.get('require');
    if (require !== undefined && require.trim().length > 0) throw new SipError(420, 'Bad Extension', [['Unsupported', require.trim()]]);
    if (this.#closing) throw new SipError(503, 'Service Unavailable (shutting down)', [['Retry-After', '30']]);
    if (this.#drainRetryAfterS !== null) throw this.#drainingError();
    const ruri = parseSipUri(req.uri);
    if (ruri === undefined) throw new SipError(416, 'Unsupported URI Scheme');
    // RFC 5630 §3.1.3: a sips: Request-URI promises TLS on every hop, so it cannot arrive over UDP/TCP.
    if (ruri.scheme === 'sips' && src.transport !== 'tls') throw new SipError(416, 'Unsupported URI Scheme (sips: needs TLS)');
    const name = decodeSessionName(ruri.user);
    if (!name.ok) throw new SipError(400, name.reason);
    const modeParam = ruri.params.mode;
    const mode = modeParam === 'mix' || modeParam === 'reflect' ? modeParam : this.#config.audioMode;
    const user = this.#config.sipAuth ? this.#authenticated.get(req) ?? this.#auth.authenticateInvite(req, src) : userOfFrom(req);

    const ctype = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (req.body.length === 0 || ctype !== 'application/sdp') throw new SipError(488, 'SDP offer required', [['Accept', 'application/sdp']]);
    this.#admit(() => { this.#core.checkAdmission(name.name); });
    const sdpSessionId = randomInt(1, 2 ** 31);
    const neg = negotiate({
      offer: req.body.toString('utf8'), mode,
      publicAddress: this.#config.publicAddress, audioPort: this.#config.audioPort, videoPort: this.#config.videoPort,
      audioCodecs: this.#config.audioCodecs, videoCodecs: this.#config.videoCodecs,
      sessionCodecs: (medium) => this.#core.sessionCodecs(name.name, medium),
      sessionId: sdpSessionId, sessionVersion: 1, ice: this.#config.ice, srtp: this.#config.srtp,
    });
    if (!neg.ok) throw new SipError(neg.status, neg.reason);
    this.#keyWarning.check(this.#log, src.transport, neg.streams);
    if (this.#dialogs.size >= this.#config.maxParticipants + 64) throw new SipError(503, 'Service Unavailable', [['Retry-After', '10']]);
    // Dialogs per source address (admission.ts): a few addresses cannot take every participant place.
    if (this.#admission?.takeDialog(src.address) != null) {
      throw new SipError(503, 'Service Unavailable (too many calls from this address)', [['Retry-After', '30']]);
    }
    let participantId: string;
    try {
      participantId = this.#admit(() => this.#core.join({
        session: name.name, ...(user !== undefined ? { user } : {}), ...displayNameOf(req), signalingAddress: src.address, mode,
        streams: neg.streams, label: req.callId.slice(0, 128),
      }));
    } catch (err) {
      this.#admission?.releaseDialog(src.address);
      throw err;
    }
    const dialog = new Dialog(req, src, {
      localTag: newTag(), localCseq: randomInt(1, 10_000), contact: contactUri(req),
      participantId, session: name.name, user, mode, invite: r.tx, sdpSessionId, streams: neg.streams,
    });
    this.#dialogs.add(dialog);
    this.#counts.add('joins');
    const okOpts = { toTag: dialog.localTag, headers: this.#okHeaders(req, src, ruri.scheme === 'sips'), body: neg.answer };
    const delay = this.#opts.answerDelayMs ?? 0;
    if (delay <= 0) {
      r.respond(200, 'OK', okOpts);
      return;
    }
    r.respond(100, 'Trying');
    const answer = r.build(200, 'OK', okOpts);
    this.#pendingAnswers.set(r.key, { dialog, answer });
    this.#timers.set(`answer:${r.key}`, delay, () => {
      const p = this.#pendingAnswers.get(r.key);
      this.#pendingAnswers.delete(r.key);
      if (p !== undefined && p.dialog.state === 'early') r.tx.handle({ type: 'respond', status: 200, data: p.answer });
    });
  }

  /** Runs a core admission step; its AdmissionError becomes 486 (session full) or 503. */
  #admit<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err;
      this.#counts.add(`admission_${err.code}`);
      if (err.code === 'session_full') throw new SipError(486, 'Busy Here (session full)');
      throw new SipError(503, err.code === 'server_full' ? 'Service Unavailable (server full)' : 'Service Unavailable (too many sessions)', [['Retry-After', '30']]);
    }
  }

  /** The dialog of an in-dialog request, checked: it exists, comes from its source, carries no bad credentials. */
  #inDialog(req: SipRequest, src: SipSource): Dialog {
    const d = this.#dialogs.of(req);
    if (d === undefined || d.state === 'terminated') throw NO_DIALOG();
    if (!d.fromSource(src)) { this.#counts.add('in_dialog_wrong_source'); throw NOT_DIALOG_SOURCE(); }
    if (!this.#auth.inDialogOk(d.user, req)) throw BAD_CREDENTIALS();
    return d;
  }

  #onReInvite(r: ServerRequest<InviteServerTransaction>): void {
    const { req, src } = r;
    const d = this.#inDialog(req, src);
    if (req.cseq.seq <= d.remoteCseq) throw new SipError(500, 'Server Internal Error (CSeq out of order)');
    if (d.invite !== null && d.invite.state === 'proceeding') throw new SipError(500, 'Server Internal Error (INVITE pending)', [['Retry-After', '1']]);
    d.remoteCseq = req.cseq.seq;
    d.sdpVersion++;
    const base = { publicAddress: this.#config.publicAddress, audioPort: this.#config.audioPort, videoPort: this.#config.videoPort, sessionId: d.sdpSessionId, sessionVersion: d.sdpVersion };
    let body: string;
    if (req.body.length === 0) {
      // Offer in our 2xx, answer in the ACK (RFC 3261 §13.2.1); media stays as it is.
      body = sdpForStreams(base, d.streams);
    } else {
      const neg = negotiate({
        ...base, offer: req.body.toString('utf8'), mode: d.mode, ice: this.#config.ice,
        audioCodecs: this.#config.audioCodecs, videoCodecs: this.#config.videoCodecs,
        sessionCodecs: (medium) => this.#core.sessionCodecs(d.session, medium),
        srtp: this.#config.srtp, previousStreams: d.streams,
      });
      if (!neg.ok) throw new SipError(neg.status, neg.reason);
      this.#core.update(d.participantId, neg.streams);
      d.streams = neg.streams;
      body = neg.answer;
      this.#counts.add('reinvites');
    }
    d.invite = r.tx;
    d.inviteCseq = req.cseq.seq;
    r.respond(200, 'OK', { toTag: d.localTag, headers: this.#okHeaders(req, src), body });
  }

  /** Headers of a 2xx to INVITE: the request's Record-Route copied (RFC 3261 §12.1.1), our Contact. */
  #okHeaders(req: SipRequest, src: SipSource, sips = false): readonly SipHeader[] {
    return [...recordRouteHeaders(req), ['Contact', this.#ourContact(src, sips)], ['Allow', ALLOW], ['Content-Type', 'application/sdp']];
  }

  // -------------------------------------------------------------------------
  // BYE, both ways

  #onBye(r: ServerRequest<NonInviteServerTransaction>): void {
    const d = this.#inDialog(r.req, r.src);
    this.#dialogs.end(d);
    r.respond(200, 'OK', { headers: recordRouteHeaders(r.req) });
    this.#core.leave(d.participantId, 'bye');
    this.#counts.add('byes_received');
  }

  #participantRemoved(id: string, reason: LeaveReason): void {
    try {
      const d = this.#dialogs.byParticipant(id);
      if (d === undefined) return;
      this.#dialogs.end(d);
      if (reason === 'bye' || reason === 'cancel') return;
      this.#sendBye(d);
    } catch (err) {
      this.#counts.add('internal_errors');
      this.#log.error('sip_internal_error', { error: err instanceof Error ? err.stack : String(err) });
    }
  }

  /** The reflector's own BYE (RFC 3261 §15.1.1) as a non-INVITE client transaction. */
  #sendBye(d: Dialog): void {
    const branch = this.#tl.newBranch();
    const sent = this.#tl.sendRequest(d.requestTarget(), branch, d.createBye(this.#hostPort(d.requestTarget()), branch), 'bye',
      (status) => { this.#counts.add(`bye_final_${status}`); });
    if (!sent) return;
    this.#counts.add('byes_sent');
    this.#log.info('sip_bye_sent', { session: d.session, participant: d.participantId });
  }

  /** Our sent-by / Contact host:port for a transport: SIP_TLS_PORT over TLS, else SIP_PORT. */
  #hostPort(src?: SipSource): string {
    const a = this.#config.publicAddress;
    const port = src?.transport === 'tls' && this.#tl.tlsPort > 0 ? this.#tl.tlsPort : this.#tl.port;
    return `${a.includes(':') ? `[${a}]` : a}:${port}`;
  }

  /** Our Contact: over TLS `sips:` when the request used a sips: URI, else `;transport=tls` (RFC 5630 §3.1.3). */
  #ourContact(src: SipSource, sips = false): string {
    if (src.transport === 'tls') return sips ? `<sips:${this.#hostPort(src)}>` : `<sip:${this.#hostPort(src)};transport=tls>`;
    return `<sip:${this.#hostPort(src)}${src.transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  /** Leaves every SIP participant with a BYE (SIGTERM) and waits at most `waitMs` for the BYEs to complete. */
  /** Draining before a stop: new sessions and OPTIONS get 503 from now on; dialogs in progress go on. */
  drain(retryAfterS: number): void {
    if (this.#drainRetryAfterS !== null) return;
    this.#drainRetryAfterS = retryAfterS;
    this.#log.info('sip_draining', { dialogs: this.#dialogs.size, retryAfterS });
  }

  #drainingError(): SipError {
    this.#counts.add('draining_refusals');
    return new SipError(503, 'Service Unavailable (draining)', [['Retry-After', String(this.#drainRetryAfterS ?? 30)]]);
  }

  async shutdown(waitMs = 2000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const d of this.#dialogs.all()) {
      this.#dialogs.end(d);
      this.#sendBye(d);
      this.#core.leave(d.participantId, 'shutdown');
    }
    await this.#tl.settled(waitMs);
  }

  dispose(): void {
    this.#core.events.off('participant-removed', this.#onRemoved);
    this.#timers.dispose();
    this.#dialogs.clear();
    this.#pendingAnswers.clear();
  }
}

/**
 * The display name of the From header (RFC 3261 §25.1 name-addr: a token sequence or a quoted string
 * before `<`), unquoted and unescaped, at most 64 characters; none when absent or empty.
 */
export function displayNameOf(req: SipRequest): { displayName?: string } {
  const raw = req.from.raw;
  const lt = raw.indexOf('<');
  if (lt <= 0) return {};
  let name = raw.slice(0, lt).trim();
  if (name.startsWith('"')) {
    const end = name.lastIndexOf('"');
    name = end > 0 ? name.slice(1, end).replace(/\\(.)/g, '$1') : name.slice(1);
  }
  // No control characters in logs or on the dashboard.
  name = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 64);
  return name === '' ? {} : { displayName: name };
}

/** Without digest, the user is the From URI's user part (decoded, at most 64 characters). */
function userOfFrom(req: SipRequest): string | undefined {
  const fromUri = parseSipUri(req.from.uri);
  if (fromUri?.user === undefined) return undefined;
  try { return decodeURIComponent(fromUri.user).slice(0, 64); } catch { return fromUri.user.slice(0, 64); }
}

/** The Contact URI of a request, if it is a usable SIP URI. */
function contactUri(req: SipRequest): string | undefined {
  const c = req.headers.get('contact');
  if (c === undefined) return undefined;
  const first = splitHeaderList(c)[0];
  const na = first !== undefined ? parseNameAddr(first) : undefined;
  return na !== undefined && parseSipUri(na.uri) !== undefined ? na.uri : undefined;
}
