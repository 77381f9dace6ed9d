/**
 * Digest authentication of the conference UAS (SPEC §4, RFC 3261 §22, RFC 8760): challenges an
 * initial INVITE, verifies its credentials, blocks a source after repeated failures, and checks
 * (never challenges) credentials carried by in-dialog requests. A refusal is thrown as SipError.
 */
import type { Config } from '../../config/types.js';
import type { Logger } from '../../runtime/logger.js';
import { type SipAdmission, SipRefusal, UserBackoff, type UserBackoffOptions } from '../admission.js';
import type { SipCounters } from '../counters.js';
import type { SipRequest } from '../message.js';
import { SipError } from '../sip-error.js';
import { newTag } from '../transaction/transaction-layer.js';
import type { SipSource } from '../transport/transport.js';
import { DigestAuthenticator, FailureLimiter, parseAuthorization, type DigestCredentials } from './digest.js';

export interface AuthenticationOptions {
  readonly nonceTtlMs?: number;
  /** Failures from one IP before it is blocked for the window. */
  readonly authFailureLimit?: number;
  readonly authFailureWindowMs?: number;
  /** Per-user failure backoff tuning (tests); see admission.ts. */
  readonly userBackoff?: Partial<UserBackoffOptions>;
}

export class InviteAuthentication {
  #config: Config;
  readonly #log: Logger;
  readonly #counts: SipCounters;
  readonly #auth: DigestAuthenticator;
  readonly #limiter: FailureLimiter;
  readonly #backoff: UserBackoff;
  readonly #admission: SipAdmission | undefined;
  #userNames: ReadonlySet<string>;

  constructor(config: Config, log: Logger, counts: SipCounters, opts: AuthenticationOptions, admission?: SipAdmission) {
    this.#config = config;
    this.#admission = admission;
    this.#backoff = new UserBackoff(opts.userBackoff);
    this.#userNames = new Set(config.sipUsers.map((u) => u.name));
    this.#log = log;
    this.#counts = counts;
    this.#auth = new DigestAuthenticator({
      realm: config.sipRealm, algorithms: config.sipDigestAlgorithms, users: config.sipUsers,
      ...(opts.nonceTtlMs !== undefined ? { nonceTtlMs: opts.nonceTtlMs } : {}),
    });
    this.#limiter = new FailureLimiter(opts.authFailureLimit ?? 5, opts.authFailureWindowMs ?? 60_000);
  }

  reload(config: Config): void {
    this.#config = config;
    this.#userNames = new Set(config.sipUsers.map((u) => u.name));
    this.#auth.reconfigure(config.sipRealm, config.sipDigestAlgorithms, config.sipUsers);
  }

  #challenge(stale: boolean): SipError {
    return new SipError(401, 'Unauthorized', this.#auth.challenges(stale).map((c) => ['WWW-Authenticate', c] as const), newTag());
  }

  /** The authenticated user of an initial INVITE (SIP_AUTH on); throws the 401/403 otherwise. */
  authenticateInvite(req: SipRequest, src: SipSource): string {
    if (this.#limiter.blocked(src.address)) {
      this.#counts.add('auth_rate_limited');
      throw new SipError(403, 'Too many authentication failures');
    }
    const value = req.headers.get('authorization');
    const creds = value !== undefined ? this.#pickCredentials(value) : undefined;
    if (creds === undefined) {
      this.#counts.add('auth_challenges');
      throw this.#challenge(false);
    }
    // Guesses spread over many addresses still count against the user (admission.ts, UserBackoff):
    // while the user is backing off, attempts from addresses it never authenticated from are not checked.
    const configured = this.#userNames.has(creds.username);
    const waitMs = configured ? this.#backoff.blockedFor(creds.username, src.address) : 0;
    if (waitMs > 0) {
      this.#counts.add('auth_user_backoff');
      this.#admission?.refuse(SipRefusal.UserBackoff, src.address, { user: creds.username });
      throw new SipError(403, 'Forbidden (too many failures for this user)', [['Retry-After', String(Math.ceil(waitMs / 1000))]]);
    }
    const v = this.#auth.verify(creds, 'INVITE', false);
    if (v.ok) {
      this.#backoff.succeed(v.user, src.address);
      this.#admission?.noteAuthenticated(src.address);
      return v.user;
    }
    if (v.reason === 'stale') {
      this.#counts.add('auth_challenges');
      throw this.#challenge(true);
    }
    this.#counts.add('auth_failures');
    this.#limiter.fail(src.address);
    if (configured && v.reason === 'bad_response') this.#backoff.fail(creds.username);
    this.#log.info('sip_auth_failed', { source: src.address, user: creds.username, reason: v.reason });
    if (v.reason === 'unknown_nonce') throw this.#challenge(false);
    throw new SipError(403, v.reason === 'replay' ? 'Forbidden (replayed credentials)' : 'Forbidden (bad credentials)');
  }

  /** Credentials carried by an in-dialog request are checked, never challenged; they must name the dialog's user. */
  inDialogOk(dialogUser: string | undefined, req: SipRequest): boolean {
    if (!this.#config.sipAuth) return true;
    const value = req.headers.get('authorization');
    if (value === undefined) return true;
    const creds = this.#pickCredentials(value);
    if (creds === undefined) return true; // credentials for another realm: not ours to check
    let v = this.#auth.verify(creds, req.method, true);
    // The ACK of a 2xx repeats the INVITE's credentials (RFC 3261 §17.1.1.3): computed for INVITE.
    if (!v.ok && req.method === 'ACK') v = this.#auth.verify(creds, 'INVITE', true);
    if (v.ok && (dialogUser === undefined || dialogUser === v.user)) return true;
    this.#counts.add('auth_failures');
    return false;
  }

  #pickCredentials(value: string): DigestCredentials | undefined {
    const all = parseAuthorization(value);
    return all.find((c) => c.realm === this.#auth.realm && this.#config.sipDigestAlgorithms.includes(c.algorithm));
  }
}
