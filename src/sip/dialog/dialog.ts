/**
 * A UAS dialog (RFC 3261 §12) created by an initial INVITE the conference UAS accepted: its
 * identity (Call-ID and tags), state (early → confirmed → terminated), CSeq spaces, remote target
 * and route set, the source its requests must come from, and the INVITE transaction whose 2xx
 * waits for its ACK. It builds the requests it originates (BYE, §15.1.1).
 *
 * The route set is the Record-Route of the INVITE in order (§12.1.1); the requests we originate
 * follow it (§12.2.1.1, loose and strict routers) as route-set.ts decides: `requestTarget()` and
 * `createBye()` are the places that use it.
 */
import type { StreamSpec } from '../../reflector/api.js';
import { serialise, type SipRequest } from '../message.js';
import type { InviteServerTransaction } from '../transaction/invite-server.js';
import { SERVER } from '../transaction/response.js';
import type { SipSource } from '../transport/transport.js';
import { routeInDialog, routeSetOf, type InDialogRoute } from './route-set.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** What the UAS decided when it accepted the INVITE. */
export interface DialogInit {
  readonly localTag: string;
  readonly localCseq: number;
  /** The Contact URI of the INVITE, if usable; else the From URI is the remote target. */
  readonly contact: string | undefined;
  readonly participantId: string;
  readonly session: string;
  readonly user: string | undefined;
  readonly mode: 'mix' | 'reflect';
  readonly invite: InviteServerTransaction;
  readonly sdpSessionId: number;
  readonly streams: readonly StreamSpec[];
}

export class Dialog {
  readonly key: string;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** To header value of the INVITE plus our tag: From of our requests. */
  readonly localNameAddr: string;
  /** From header value of the INVITE: To of our requests. */
  readonly remoteNameAddr: string;
  readonly remoteTarget: string;
  /** Record-Route of the INVITE, in order (RFC 3261 §12.1.1). */
  readonly routeSet: readonly string[];
  /** Where signalling comes from and goes to. */
  readonly source: SipSource;
  readonly participantId: string;
  readonly session: string;
  readonly user: string | undefined;
  readonly mode: 'mix' | 'reflect';
  state: DialogState = 'early';
  remoteCseq: number;
  localCseq: number;
  /** The INVITE transaction whose 2xx waits for its ACK. */
  invite: InviteServerTransaction | null;
  inviteCseq: number;
  readonly sdpSessionId: number;
  sdpVersion = 1;
  streams: readonly StreamSpec[];

  /** The UAS side of a dialog created by `req` (RFC 3261 §12.1.1). */
  constructor(req: SipRequest, src: SipSource, init: DialogInit) {
    this.callId = req.callId;
    this.localTag = init.localTag;
    this.remoteTag = req.from.tag ?? '';
    this.key = Dialog.key(req.callId, this.localTag, this.remoteTag);
    this.localNameAddr = `${req.headers.get('to') ?? ''};tag=${init.localTag}`;
    this.remoteNameAddr = req.headers.get('from') ?? '';
    this.remoteTarget = init.contact ?? req.from.uri;
    this.routeSet = routeSetOf(req);
    this.source = src;
    this.participantId = init.participantId;
    this.session = init.session;
    this.user = init.user;
    this.mode = init.mode;
    this.remoteCseq = req.cseq.seq;
    this.localCseq = init.localCseq;
    this.invite = init.invite;
    this.inviteCseq = req.cseq.seq;
    this.sdpSessionId = init.sdpSessionId;
    this.streams = init.streams;
  }

  /** The dialog ID as seen by the UAS: Call-ID, local tag, remote tag. */
  static key(callId: string, localTag: string, remoteTag: string): string {
    return `${callId}|${localTag}|${remoteTag}`;
  }

  /** In-dialog requests must come from the dialog's signalling source (same transport and IP). */
  fromSource(src: SipSource): boolean {
    return this.source.transport === src.transport && this.source.address === src.address;
  }

  /** The ACK of the 2xx arrived (RFC 3261 §13.3.1.4): stop its retransmissions; early → confirmed. Returns true on confirmation. */
  acked(cseq: number): boolean {
    if (this.invite !== null && cseq === this.inviteCseq) {
      this.invite.handle({ type: 'ack-2xx' });
      this.invite = null;
    }
    if (this.state !== 'early') return false;
    this.state = 'confirmed';
    return true;
  }

  /** Terminated: the INVITE transaction still waiting for an ACK of its 2xx ends too. */
  terminate(): void {
    this.state = 'terminated';
    if (this.invite !== null) {
      const tx = this.invite;
      this.invite = null;
      if (tx.state === 'accepted') tx.dispose();
    }
  }

  /** Request-URI, Route headers and next hop of an in-dialog request we originate (RFC 3261 §12.2.1.1). */
  route(): InDialogRoute {
    return routeInDialog(this.routeSet, this.remoteTarget, this.source);
  }

  /** Where an in-dialog request we originate is sent: the first Route (at the source's IP) or the source. */
  requestTarget(): SipSource {
    return this.route().dest;
  }

  /** Our BYE (RFC 3261 §15.1.1), with a new local CSeq; `via` is our sent-by host:port, `branch` the transaction's. */
  createBye(via: string, branch: string): Buffer {
    const transport = this.source.transport === 'tcp' ? 'TCP' : 'UDP';
    this.localCseq++;
    const headers: [string, string][] = [
      ['Via', `SIP/2.0/${transport} ${via};branch=${branch};rport`],
      ['Max-Forwards', '70'],
      ['From', this.localNameAddr],
      ['To', this.remoteNameAddr],
      ['Call-ID', this.callId],
      ['CSeq', `${this.localCseq} BYE`],
    ];
    const route = this.route();
    for (const r of route.routes) headers.push(['Route', r]);
    headers.push(['User-Agent', SERVER]);
    return serialise({ startLine: `BYE ${route.requestUri} SIP/2.0`, headers });
  }
}

/** The live dialogs, by dialog ID and by the participant each one carries. */
export class DialogTable {
  readonly #byKey = new Map<string, Dialog>();
  readonly #byParticipant = new Map<string, Dialog>();
  readonly #onEnd: ((d: Dialog) => void) | undefined;

  /** `onEnd` runs once for each dialog that leaves the table through end() (admission gives its slot back). */
  constructor(onEnd?: (d: Dialog) => void) {
    this.#onEnd = onEnd;
  }

  get size(): number {
    return this.#byKey.size;
  }

  add(d: Dialog): void {
    this.#byKey.set(d.key, d);
    this.#byParticipant.set(d.participantId, d);
  }

  /** The dialog an in-dialog request belongs to (To tag = ours, From tag = theirs). */
  of(req: SipRequest): Dialog | undefined {
    const toTag = req.to.tag;
    const fromTag = req.from.tag;
    if (toTag === undefined || fromTag === undefined) return undefined;
    return this.#byKey.get(Dialog.key(req.callId, toTag, fromTag));
  }

  byParticipant(id: string): Dialog | undefined {
    return this.#byParticipant.get(id);
  }

  /** The dialog whose 2xx the INVITE transaction `tx` carries. */
  byInvite(tx: InviteServerTransaction): Dialog | undefined {
    for (const d of this.#byKey.values()) if (d.invite === tx) return d;
    return undefined;
  }

  /** Terminates `d` and forgets it. */
  end(d: Dialog): void {
    d.terminate();
    const had = this.#byKey.delete(d.key);
    this.#byParticipant.delete(d.participantId);
    if (had) this.#onEnd?.(d);
  }

  all(): Dialog[] {
    return [...this.#byKey.values()];
  }

  clear(): void {
    this.#byKey.clear();
    this.#byParticipant.clear();
  }
}
