/**
 * ICE-lite responder on the shared media ports (SPEC §16; RFC 8445 §2.5, §7.3).
 *
 * The reflector is always the controlled, lite agent: it gathers only host
 * candidates (its media ports, in the SDP answer), never sends checks, and
 * answers the full agent's Binding requests. A request is accepted only when:
 *
 *   1. it is a well-formed STUN Binding request (RFC 5389 §6) whose attributes
 *      are bounded (FINGERPRINT last, fixed-size attributes of their size);
 *   2. FINGERPRINT is present and right (CRC-32 xor 0x5354554e, RFC 5389 §15.5);
 *   3. USERNAME is "LFRAG:RFRAG" with LFRAG the ufrag of our answer to some
 *      participant and RFRAG that participant's offered ufrag (RFC 8445 §7.2.2);
 *   4. MESSAGE-INTEGRITY is the HMAC-SHA1 keyed with our ice-pwd for that
 *      participant (short-term credentials, RFC 5389 §10.1);
 *   5. the participant has an enabled stream of the port's medium.
 *
 * Anything else is dropped with a stable reason and never answered, so the
 * reflector never answers an unauthenticated packet, and an answer (64 bytes
 * for IPv4, 76 for IPv6) is no larger than the authenticated request it answers
 * plus 16 bytes and goes only to the request's source. The core latches the
 * stream on a nominated check (USE-CANDIDATE).
 */
import { ipv4ToNumber } from './ip-key.js';
import { flowIsRtcp, flowMedium } from './media-kind.js';
import type { ParticipantState, StreamState } from './participant.js';
import {
  iceBindingSuccessSize,
  parseStun,
  readStunAttributes,
  STUN_BINDING_REQUEST,
  StunAttributes,
  stunFingerprintOk,
  stunIntegrityOk,
  StunMessage,
  writeIceBindingSuccess,
} from '../rtp/stun.js';

const ATTR_HEADER_SIZE = 4;
const COLON = 0x3a;

/** Why a STUN datagram on a media port was dropped (metric labels, next to the stun_* parse reasons). */
export const IceDrop = {
  /** ICE is off in the configuration: STUN on the media ports is not answered. */
  Off: 'ice_off',
  /** A STUN message that is not a Binding request (responses, indications, other methods). */
  NotBindingRequest: 'ice_not_binding_request',
  NoFingerprint: 'ice_no_fingerprint',
  BadFingerprint: 'ice_bad_fingerprint',
  NoUsername: 'ice_no_username',
  /** USERNAME names no ufrag of ours, or not the participant's offered ufrag after the colon. */
  UnknownUfrag: 'ice_unknown_ufrag',
  NoIntegrity: 'ice_no_integrity',
  /** MESSAGE-INTEGRITY does not verify with the participant's ice-pwd (wrong password). */
  BadIntegrity: 'ice_bad_integrity',
  /** The participant has no enabled stream of that port's medium (or RTCP checks with rtcp-mux). */
  NoStream: 'ice_no_stream',
  /** Media from another source for a flow latched by a nominated check (only a new nomination moves it). */
  UnnominatedSource: 'ice_unnominated_source',
} as const;
export type IceDrop = (typeof IceDrop)[keyof typeof IceDrop];

interface IceEntry {
  readonly participant: ParticipantState;
  readonly key: Buffer;
  readonly remoteUfrag: string;
}

/** The outcome of an accepted check; reused, valid until the next check(). */
export class IceCheckResult {
  stream: StreamState | null = null;
  /** The Binding Success Response (a fresh buffer: checks come every few hundred ms at most). */
  response: Buffer = Buffer.alloc(0);
  /** USE-CANDIDATE was present: the pair is nominated (RFC 8445 §7.3.1.5). */
  nominated = false;
}

export class IceResponder {
  readonly #byUfrag = new Map<string, IceEntry>();
  readonly #msg = new StunMessage();
  readonly #attrs = new StunAttributes();
  readonly #result = new IceCheckResult();
  /** Why the last check() returned null: an IceDrop or a StunDrop. */
  lastDrop: string = IceDrop.NotBindingRequest;

  /** Indexes a participant's ICE credentials (join, after update). A ufrag already used by another participant is not taken over. */
  add(p: ParticipantState): void {
    for (const s of p.streams) {
      const ice = s?.spec.ice;
      if (ice === undefined || s === null || !s.enabled) continue;
      const cur = this.#byUfrag.get(ice.ufrag);
      if (cur !== undefined && cur.participant !== p) continue;
      this.#byUfrag.set(ice.ufrag, { participant: p, key: Buffer.from(ice.pwd, 'utf8'), remoteUfrag: ice.remoteUfrag });
    }
  }

  remove(p: ParticipantState): void {
    for (const s of p.streams) {
      const ice = s?.spec.ice;
      if (ice === undefined) continue;
      if (this.#byUfrag.get(ice.ufrag)?.participant === p) this.#byUfrag.delete(ice.ufrag);
    }
  }

  clear(): void {
    this.#byUfrag.clear();
  }

  /** Number of participants reachable by ICE (status, tests). */
  get size(): number {
    return this.#byUfrag.size;
  }

  /**
   * Checks a STUN datagram that arrived on media flow `flow` from (ip, port); returns the
   * stream and the response, or null with `lastDrop` set. Never throws on any input.
   */
  check(flow: number, buf: Buffer, ip: string, port: number): IceCheckResult | null {
    const parsed = parseStun(buf, this.#msg);
    if (parsed !== null) return this.#fail(parsed);
    if (this.#msg.type !== STUN_BINDING_REQUEST) return this.#fail(IceDrop.NotBindingRequest);
    const a = this.#attrs;
    const bad = readStunAttributes(buf, a);
    if (bad !== null) return this.#fail(bad);
    if (a.fingerprintOffset < 0) return this.#fail(IceDrop.NoFingerprint);
    if (!stunFingerprintOk(buf, a.fingerprintOffset)) return this.#fail(IceDrop.BadFingerprint);
    if (a.usernameOffset < 0) return this.#fail(IceDrop.NoUsername);
    const u = a.usernameOffset + ATTR_HEADER_SIZE;
    const end = u + a.usernameLength;
    let colon = -1;
    for (let i = u; i < end; i++) {
      if (buf[i] === COLON) {
        colon = i;
        break;
      }
    }
    if (colon < 0) return this.#fail(IceDrop.UnknownUfrag);
    const entry = this.#byUfrag.get(buf.toString('utf8', u, colon));
    if (entry === undefined || entry.participant.removed) return this.#fail(IceDrop.UnknownUfrag);
    if (buf.toString('utf8', colon + 1, end) !== entry.remoteUfrag) return this.#fail(IceDrop.UnknownUfrag);
    if (a.integrityOffset < 0) return this.#fail(IceDrop.NoIntegrity);
    if (!stunIntegrityOk(buf, a.integrityOffset, entry.key)) return this.#fail(IceDrop.BadIntegrity);
    const stream = entry.participant.streams[flowMedium(flow)];
    if (stream === null || !stream.enabled || (flowIsRtcp(flow) && stream.rtcpMux)) return this.#fail(IceDrop.NoStream);
    const family: 4 | 6 = ipv4ToNumber(ip) >= 0 ? 4 : 6;
    const out = Buffer.allocUnsafe(iceBindingSuccessSize(family));
    const n = writeIceBindingSuccess(buf, ip, port, family, entry.key, out);
    if (n === 0) return this.#fail(IceDrop.NoStream);
    const r = this.#result;
    r.stream = stream;
    r.response = out;
    r.nominated = a.useCandidate;
    return r;
  }

  #fail(reason: string): null {
    this.lastDrop = reason;
    return null;
  }
}
