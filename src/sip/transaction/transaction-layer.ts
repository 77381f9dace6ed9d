/**
 * The transaction layer (RFC 3261 §17): owns the server and client transaction tables, matches
 * every message to its transaction (§17.2.3 / §17.1.3), absorbs retransmissions, routes ACK and
 * CANCEL, enforces the table limits, feeds transport errors to the transactions (§17.1.4, §17.2.4),
 * and turns a `SipError` thrown by the transaction user into the final response. Above it sits one
 * TransactionUser (the conference UAS); below it the transports (a SendPort).
 *
 *   transport ──onMessage──▶ screen (TU) ──▶ match ──▶ retransmission / ACK / CANCEL handled here
 *                                               └──▶ new server transaction ──▶ TU.onInvite / onNonInvite
 *   TU ──sendRequest──▶ client transaction ──▶ transport          (responses matched by branch)
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../runtime/logger.js';
import type { SipCounters } from '../counters.js';
import type { SipAdmission } from '../admission.js';
import { SipParseDrop, type ParseResult, type PartialRequest, type SipMessage, type SipRequest, type SipResponse } from '../message.js';
import { SipError, type SipHeader } from '../sip-error.js';
import type { SipSource } from '../transport/transport.js';
import { InviteServerTransaction } from './invite-server.js';
import { NonInviteClientTransaction } from './non-invite-client.js';
import { NonInviteServerTransaction } from './non-invite-server.js';
import { buildResponse, replyTarget, type ResponseOpts } from './response.js';
import type { TransactionIo } from './timers.js';

export const BRANCH_COOKIE = 'z9hG4bK';

/** What the transaction layer needs of the transports. */
export interface SendPort {
  /** false: the bytes could not be handed to the OS (TCP connection gone): a transport error. */
  send(dest: SipSource, data: Buffer): boolean;
  readonly port: number;
}

export interface TransactionLimits {
  readonly maxServerTransactions: number;
  readonly maxClientTransactions: number;
  /**
   * Per-source and reserved server-transaction limits and the budget of stateless responses to
   * unverified sources (admission.ts); without it only maxServerTransactions applies.
   */
  readonly admission?: SipAdmission;
}

/** A request that created a server transaction, handed to the TU. */
export interface ServerRequest<T extends InviteServerTransaction | NonInviteServerTransaction> {
  readonly req: SipRequest;
  readonly src: SipSource;
  readonly tx: T;
  /** The transaction key (RFC 3261 §17.2.3). */
  readonly key: string;
  /** Builds (and counts) a response to this request without sending it (e.g. a delayed 2xx). */
  build(status: number, reason: string, opts?: ResponseOpts): Buffer;
  /** Sends a response through the server transaction. */
  respond(status: number, reason: string, opts?: ResponseOpts): void;
}

/**
 * The transaction user (RFC 3261 §5: the layer above the transactions). Handlers refuse a request
 * by throwing a SipError; the layer sends it as the final response.
 */
export interface TransactionUser {
  /**
   * Every parsed message, before any matching or transaction state. Return false to drop it (the
   * TU counts why); throw a SipError to answer a request statelessly (never an ACK: dropped).
   * Source policy lives here; stateless challenges and admission limits belong here too.
   */
  screen(m: SipMessage, src: SipSource): boolean;
  onInvite(r: ServerRequest<InviteServerTransaction>): void;
  /** Every non-INVITE request except ACK and CANCEL (BYE, OPTIONS, unknown methods). */
  onNonInvite(r: ServerRequest<NonInviteServerTransaction>): void;
  /** An ACK no INVITE server transaction absorbed: the ACK of a 2xx (it has its own branch) or a stray. */
  onAck(req: SipRequest, src: SipSource): void;
  /**
   * A CANCEL matched an INVITE transaction that has no final response yet; the layer answers the
   * CANCEL 200 and the INVITE 487. Returns the To tag for the 487 (the early dialog's), if any.
   */
  onCancel(inviteKey: string): string | undefined;
  /** No ACK for a final response within 64·T1. */
  onAckTimeout(tx: InviteServerTransaction, status: number): void;
  /** The transport could not send the INVITE transaction's response `status`. */
  onTransportError(tx: InviteServerTransaction, status: number): void;
}

type ServerTx = InviteServerTransaction | NonInviteServerTransaction;

function errorText(err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err);
}

export class SipTransactionLayer {
  readonly #port: SendPort;
  readonly #counts: SipCounters;
  readonly #log: Logger;
  readonly #limits: TransactionLimits;
  #tu: TransactionUser | null = null;
  readonly #serverTx = new Map<string, ServerTx>();
  /** Who holds each server transaction's admission slot (source IP, and whether it was known then). */
  readonly #slots = new Map<string, { readonly ip: string; readonly known: boolean }>();
  readonly #clientTx = new Map<string, NonInviteClientTransaction>();
  /** Branches of client transactions that have no final response yet (shutdown waits for them). */
  readonly #awaitingFinal = new Set<string>();
  readonly #settledWaiters: (() => void)[] = [];

  constructor(port: SendPort, counts: SipCounters, log: Logger, limits: TransactionLimits) {
    this.#port = port;
    this.#counts = counts;
    this.#log = log;
    this.#limits = limits;
  }

  /** The one TU above this layer (set once, before the transport delivers). */
  attach(tu: TransactionUser): void {
    this.#tu = tu;
  }

  get port(): number {
    return this.#port.port;
  }

  get serverTransactions(): number {
    return this.#serverTx.size;
  }

  get clientTransactions(): number {
    return this.#clientTx.size;
  }

  /** Entry point from the transport. Never throws. Parse failures were counted by the transport. */
  onMessage(r: ParseResult, src: SipSource): void {
    const tu = this.#tu;
    if (tu === null) return;
    try {
      if (!r.ok) {
        // A request whose Via is readable but another header is broken gets 400 (not ACK).
        if (r.partial !== undefined && r.partial.method.toUpperCase() !== 'ACK') {
          if (r.reason === SipParseDrop.BadVersion) this.#respondStateless(r.partial, src, 505, 'Version Not Supported');
          else this.#respondStateless(r.partial, src, 400, `Bad Request (${r.detail})`);
        }
        return;
      }
      const m = r.message;
      if (!this.#screen(tu, m, src)) return;
      if (m.kind === 'response') this.#onResponse(m);
      else this.#onRequest(tu, m, src);
    } catch (err) {
      this.#internalError(err);
    }
  }

  #screen(tu: TransactionUser, m: SipMessage, src: SipSource): boolean {
    try {
      return tu.screen(m, src);
    } catch (err) {
      if (!(err instanceof SipError)) throw err;
      if (m.kind === 'request' && m.method !== 'ACK') {
        this.#respondStateless(m, src, err.status, err.reason, { headers: err.headers, toTag: err.toTag });
      }
      return false;
    }
  }

  #internalError(err: unknown): void {
    this.#counts.add('internal_errors');
    this.#log.error('sip_internal_error', { error: errorText(err) });
  }

  // -------------------------------------------------------------------------
  // responses we send

  /** Builds a response and counts it by status (responses_NNN). */
  build(req: SipRequest | PartialRequest, src: SipSource, status: number, reason: string, opts: ResponseOpts = {}): Buffer {
    this.#counts.add(`responses_${status}`);
    return buildResponse(req, src, status, reason, opts);
  }

  /**
   * A response without a transaction (RFC 3261 §8.2.7, like Kamailio's sl_send_reply): a
   * retransmitted request gets another one, nothing is retransmitted by us. To a source that has not
   * proved itself it goes only within that source's and the global budget, and only when it is at
   * most a small multiple of the request (admission.ts): else it is counted and not sent.
   */
  #respondStateless(req: SipRequest | PartialRequest, src: SipSource, status: number, reason: string, opts: ResponseOpts = {}): void {
    const top = req.via[0];
    if (top === undefined) return;
    const data = buildResponse(req, src, status, reason, opts);
    const admission = this.#limits.admission;
    if (admission !== undefined && req.size !== undefined && admission.mayRespond(src.address, req.size, data.length) !== null) return;
    this.#counts.add(`responses_${status}`);
    this.#port.send(replyTarget(top, src), data);
  }

  /** A request that matches a live server transaction (a retransmission, or the ACK of a non-2xx). */
  matchesServerTransaction(req: SipRequest): boolean {
    return this.#serverTx.has(SipTransactionLayer.txKey(req, req.method === 'ACK' ? 'INVITE' : req.method));
  }

  /** The I/O of a server transaction: responses go to the reply target; a failed send is a transport error. */
  #serverIo(req: SipRequest, src: SipSource, onTransportError: () => void): TransactionIo {
    const top = req.via[0];
    const dest = top !== undefined ? replyTarget(top, src) : src;
    return {
      reliable: src.transport === 'tcp',
      send: (data) => {
        if (this.#port.send(dest, data)) return;
        this.#counts.add('transport_errors');
        // Reported after the transaction's own step has finished (never re-entrantly).
        queueMicrotask(onTransportError);
      },
    };
  }

  // -------------------------------------------------------------------------
  // requests

  /** RFC 3261 §17.2.3 matching key (with the RFC 2543 fallback when the branch lacks the magic cookie). */
  static txKey(req: SipRequest, method: string): string {
    const top = req.via[0];
    const branch = top?.branch ?? '';
    if (branch.startsWith(BRANCH_COOKIE)) return `${branch}|${top?.host ?? ''}:${top?.port ?? ''}|${method}`;
    return `${req.callId}|${req.cseq.seq}|${req.from.tag ?? ''}|${top?.raw ?? ''}|${method}`;
  }

  #onRequest(tu: TransactionUser, req: SipRequest, src: SipSource): void {
    const method = req.method;
    // Retransmission of a request of a live server transaction (ACK matches its INVITE).
    const key = SipTransactionLayer.txKey(req, method === 'ACK' ? 'INVITE' : method);
    const existing = this.#serverTx.get(key);
    if (existing !== undefined) {
      if (method === 'ACK') {
        if (existing instanceof InviteServerTransaction && existing.state === 'completed') existing.handle({ type: 'ack' });
        else tu.onAck(req, src);
        return;
      }
      existing.handle({ type: 'retransmission' });
      return;
    }
    if (method === 'ACK') {
      tu.onAck(req, src);
      return;
    }
    if (method === 'CANCEL') {
      this.#onCancel(tu, req, src);
      return;
    }
    if (!this.#admitServerTransaction(key, src)) {
      this.#counts.add('server_transactions_full');
      this.#respondStateless(req, src, 503, 'Service Unavailable', { headers: [['Retry-After', '5']] });
      return;
    }
    if (method === 'INVITE') {
      const tx: InviteServerTransaction = new InviteServerTransaction(
        this.#serverIo(req, src, () => { tx.handle({ type: 'transport-error' }); }),
        {
          onAckTimeout: (status) => { tu.onAckTimeout(tx, status); },
          onTerminated: () => { this.#removeServerTransaction(key); },
          onTransportError: (status) => { tu.onTransportError(tx, status); },
        },
      );
      this.#serverTx.set(key, tx);
      const r = this.#serverRequest(req, src, key, tx);
      try {
        tu.onInvite(r);
      } catch (err) {
        this.#refused(err, tx.state === 'proceeding', r);
      }
      return;
    }
    const tx: NonInviteServerTransaction = new NonInviteServerTransaction(
      this.#serverIo(req, src, () => { tx.handle({ type: 'transport-error' }); }),
      () => { this.#removeServerTransaction(key); },
    );
    this.#serverTx.set(key, tx);
    const r = this.#serverRequest(req, src, key, tx);
    try {
      tu.onNonInvite(r);
    } catch (err) {
      this.#refused(err, tx.state === 'trying' || tx.state === 'proceeding', r);
    }
  }

  /** A place in the server-transaction table for `src` (global limit; with admission also per source and the reserve). */
  #admitServerTransaction(key: string, src: SipSource): boolean {
    const admission = this.#limits.admission;
    if (admission === undefined) return this.#serverTx.size < this.#limits.maxServerTransactions;
    const known = admission.isKnown(src.address);
    if (admission.takeServerTransaction(src.address) !== null) return false;
    this.#slots.set(key, { ip: src.address, known });
    return true;
  }

  #removeServerTransaction(key: string): void {
    this.#serverTx.delete(key);
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#limits.admission?.releaseServerTransaction(slot.ip, slot.known);
  }

  #serverRequest<T extends ServerTx>(req: SipRequest, src: SipSource, key: string, tx: T): ServerRequest<T> {
    const build = (status: number, reason: string, opts?: ResponseOpts): Buffer => this.build(req, src, status, reason, opts);
    return {
      req, src, tx, key, build,
      respond: (status, reason, opts) => { tx.handle({ type: 'respond', status, data: build(status, reason, opts) }); },
    };
  }

  /** A handler threw: a SipError becomes the final response; anything else is a 500 and an internal error. */
  #refused(err: unknown, unanswered: boolean, r: ServerRequest<ServerTx>): void {
    if (err instanceof SipError) {
      if (unanswered) r.respond(err.status, err.reason, { headers: err.headers, toTag: err.toTag });
      return;
    }
    this.#internalError(err);
    if (unanswered) r.respond(500, 'Server Internal Error');
  }

  /** RFC 3261 §9.2: CANCEL matches the INVITE's transaction; 200 to the CANCEL, 487 to a pending INVITE. */
  #onCancel(tu: TransactionUser, req: SipRequest, src: SipSource): void {
    const inviteKey = SipTransactionLayer.txKey(req, 'INVITE');
    const inviteTx = this.#serverTx.get(inviteKey);
    if (!(inviteTx instanceof InviteServerTransaction)) {
      this.#respondStateless(req, src, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    const cancelKey = SipTransactionLayer.txKey(req, 'CANCEL');
    const tx: NonInviteServerTransaction = new NonInviteServerTransaction(
      this.#serverIo(req, src, () => { tx.handle({ type: 'transport-error' }); }),
      () => { this.#removeServerTransaction(cancelKey); },
    );
    this.#serverTx.set(cancelKey, tx);
    tx.handle({ type: 'respond', status: 200, data: this.build(req, src, 200, 'OK') });
    if (inviteTx.state !== 'proceeding') return;
    const toTag = tu.onCancel(inviteKey) ?? newTag();
    // The INVITE's request data is needed for the 487; rebuild it from the CANCEL (same Via/From/To/Call-ID, CSeq method INVITE).
    const inviteLike: PartialRequest = {
      method: 'INVITE', via: req.via,
      headers: new Map([...req.headers].map(([k, v]) => [k, k === 'cseq' ? `${req.cseq.seq} INVITE` : v] as [string, string])),
    };
    inviteTx.handle({ type: 'respond', status: 487, data: this.build(inviteLike, src, 487, 'Request Terminated', { toTag }) });
  }

  // -------------------------------------------------------------------------
  // client transactions (requests we originate)

  newBranch(): string {
    return `${BRANCH_COOKIE}${randomBytes(8).toString('hex')}`;
  }

  /**
   * Sends `request` (whose top Via carries `branch`) in a non-INVITE client transaction.
   * `onFinal` gets the final status, 408 on Timer F or 503 on a transport error; a failed send is
   * also counted as `<label>_send_failed`. Returns false when the client table is full (counted).
   */
  sendRequest(dest: SipSource, branch: string, request: Buffer, label: string, onFinal: (status: number) => void): boolean {
    if (this.#clientTx.size >= this.#limits.maxClientTransactions) {
      this.#counts.add('client_transactions_full');
      return false;
    }
    const io: TransactionIo = {
      reliable: dest.transport === 'tcp',
      send: (b) => {
        if (this.#port.send(dest, b)) return;
        this.#counts.add(`${label}_send_failed`);
        queueMicrotask(() => { tx.handle({ type: 'transport-error' }); });
      },
    };
    const tx: NonInviteClientTransaction = new NonInviteClientTransaction(io, request, {
      onFinal: (status) => { this.#settle(branch); onFinal(status); },
      onTerminated: () => { this.#clientTx.delete(branch); this.#settle(branch); },
    });
    this.#clientTx.set(branch, tx);
    this.#awaitingFinal.add(branch);
    tx.start();
    return true;
  }

  #onResponse(res: SipResponse): void {
    const branch = res.via[0]?.branch;
    const tx = branch !== undefined ? this.#clientTx.get(branch) : undefined;
    if (tx === undefined) { this.#counts.add('stray_responses'); return; }
    tx.handle({ type: 'response', status: res.status });
  }

  #settle(branch: string): void {
    if (!this.#awaitingFinal.delete(branch) || this.#awaitingFinal.size > 0) return;
    for (const w of this.#settledWaiters.splice(0)) w();
  }

  /** Resolves when every client transaction has its final response (or ended), or after `waitMs`. */
  settled(waitMs: number): Promise<void> {
    if (this.#awaitingFinal.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        const i = this.#settledWaiters.indexOf(done);
        if (i >= 0) this.#settledWaiters.splice(i, 1);
        resolve();
      };
      const t = setTimeout(done, waitMs);
      t.unref();
      this.#settledWaiters.push(done);
    });
  }

  dispose(): void {
    for (const tx of this.#serverTx.values()) tx.dispose();
    for (const key of [...this.#slots.keys()]) this.#removeServerTransaction(key);
    for (const tx of this.#clientTx.values()) tx.dispose();
    this.#serverTx.clear();
    this.#clientTx.clear();
    this.#awaitingFinal.clear();
    for (const w of this.#settledWaiters.splice(0)) w();
  }
}

/** A fresh To/From tag (RFC 3261 §19.3). */
export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export type { ResponseOpts, SipHeader };
