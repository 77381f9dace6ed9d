/**
 * Admission for the SIP front end (issue 11): what one source address, or a
 * handful of them, may cost the reflector, so that the people already talking
 * and those with credentials keep getting in during a flood.
 *
 * - Server transactions and dialogs are limited per source address and in all;
 *   a share of the transaction table is reserved for known sources (addresses
 *   with a dialog, configured peers, addresses that authenticated lately).
 * - Stateless responses (the 401 challenge, 4xx/5xx before any state) to a
 *   source that has not proved itself are rate-limited per address and in all,
 *   and never larger than `amplificationFactor` × the request: the reflector
 *   cannot be used to flood a spoofed victim.
 * - Digest failures are counted per user as well as per address (UserBackoff).
 *
 * Every refusal is counted by a stable reason (metric label, see `counts`) and
 * logged at most once per reason per interval.
 */
import type { RateLimitedLog } from '../runtime/rate-limited-log.js';

export interface SipAdmissionLimits {
  /** Server transactions at once (all sources). */
  readonly maxServerTransactions: number;
  /** Of those, how many only known sources may use. */
  readonly reservedServerTransactions: number;
  /** Server transactions of one source at once (a trusted one, peer or authenticated: `knownFactor` times as many). */
  readonly maxServerTransactionsPerSource: number;
  /** Dialogs of one source at once (a trusted one: `knownFactor` times as many). */
  readonly maxDialogsPerSource: number;
  readonly knownFactor: number;
  /** Stateless responses per second to one source that has not proved itself, and the burst allowed. */
  readonly responsesPerSecondPerSource: number;
  readonly responseBurstPerSource: number;
  /** Stateless responses per second to unverified sources in all. */
  readonly responsesPerSecond: number;
  /** A stateless response to an unverified source is at most this many times the request's size. */
  readonly amplificationFactor: number;
  /** How long an address that authenticated stays known. */
  readonly authenticatedTtlMs: number;
}

export const DEFAULT_SIP_ADMISSION: SipAdmissionLimits = {
  maxServerTransactions: 20_000,
  reservedServerTransactions: 5_000,
  maxServerTransactionsPerSource: 64,
  maxDialogsPerSource: 32,
  knownFactor: 8,
  responsesPerSecondPerSource: 100,
  responseBurstPerSource: 1_000,
  responsesPerSecond: 10_000,
  amplificationFactor: 3,
  authenticatedTtlMs: 600_000,
};

/** Refusal reasons (metric labels, in the SIP part's stats). */
export const SipRefusal = {
  TxSourceLimit: 'sip_refused_tx_source_limit',
  TxFull: 'sip_refused_tx_full',
  DialogSourceLimit: 'sip_refused_dialog_source_limit',
  ResponseRateLimited: 'sip_response_rate_limited',
  ResponseTooLarge: 'sip_response_too_large',
  UserBackoff: 'sip_refused_user_backoff',
} as const;
export type SipRefusal = (typeof SipRefusal)[keyof typeof SipRefusal];

/** Entries of the per-address maps at most (oldest go first). */
const MAX_TRACKED_SOURCES = 16_384;

class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes a token for `key` (rate per second, burst); false when empty. */
  take(key: string, rate: number, burst: number, now: number): boolean {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      this.#buckets.set(key, b);
      if (this.#buckets.size > MAX_TRACKED_SOURCES) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export class SipAdmission {
  readonly #limits: () => SipAdmissionLimits;
  readonly #log: RateLimitedLog | null;
  readonly #now: () => number;
  readonly #isPeer: (ip: string) => boolean;
  readonly #txBySource = new Map<string, number>();
  readonly #dialogsBySource = new Map<string, number>();
  /** Addresses that authenticated, with when they stop being known. */
  readonly #authenticated = new Map<string, number>();
  readonly #buckets = new TokenBuckets();
  #globalTokens: number;
  #globalAt: number;
  #tx = 0;
  #unknownTx = 0;
  readonly counts = new Map<string, number>();

  constructor(limits: () => SipAdmissionLimits, log: RateLimitedLog | null, isPeer: (ip: string) => boolean = () => false, now: () => number = Date.now) {
    this.#limits = limits;
    this.#log = log;
    this.#isPeer = isPeer;
    this.#now = now;
    this.#globalTokens = limits().responsesPerSecond;
    this.#globalAt = now();
  }

  /** A source with a dialog (already talking), a configured peer, or one that authenticated within the TTL: it may use the reserve. */
  isKnown(ip: string): boolean {
    return (this.#dialogsBySource.get(ip) ?? 0) > 0 || this.isTrusted(ip);
  }

  /**
   * A configured peer, or a source that authenticated within the TTL: it gets `knownFactor` times the
   * per-source limits and no response budget. A dialog alone does not make a source trusted (with
   * SIP_AUTH off anyone, or a spoofed address, can get one).
   */
  isTrusted(ip: string): boolean {
    if (this.#isPeer(ip)) return true;
    const until = this.#authenticated.get(ip);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#authenticated.delete(ip);
    return false;
  }

  /** The source proved itself (valid digest credentials). */
  noteAuthenticated(ip: string): void {
    this.#authenticated.delete(ip);
    this.#authenticated.set(ip, this.#now() + this.#limits().authenticatedTtlMs);
    if (this.#authenticated.size > MAX_TRACKED_SOURCES) {
      const oldest = this.#authenticated.keys().next().value;
      if (oldest !== undefined) this.#authenticated.delete(oldest);
    }
  }

  get serverTransactions(): number { return this.#tx; }

  /** Takes a server-transaction slot for `ip`; null when granted, else the refusal (counted and logged). */
  takeServerTransaction(ip: string): SipRefusal | null {
    const l = this.#limits();
    const known = this.isKnown(ip);
    const n = this.#txBySource.get(ip) ?? 0;
    if (n >= l.maxServerTransactionsPerSource * (this.isTrusted(ip) ? l.knownFactor : 1)) return this.#refuse(SipRefusal.TxSourceLimit, ip);
    if (this.#tx >= l.maxServerTransactions) return this.#refuse(SipRefusal.TxFull, ip);
    if (!known && this.#unknownTx >= l.maxServerTransactions - l.reservedServerTransactions) return this.#refuse(SipRefusal.TxFull, ip);
    this.#txBySource.set(ip, n + 1);
    this.#tx++;
    if (!known) this.#unknownTx++;
    return null;
  }

  /**
   * Gives back a slot taken for `ip`. `wasKnown` is what isKnown said when it was taken, so that the
   * unknown count stays exact when a source becomes known meanwhile.
   */
  releaseServerTransaction(ip: string, wasKnown: boolean): void {
    const n = this.#txBySource.get(ip) ?? 0;
    if (n <= 1) this.#txBySource.delete(ip); else this.#txBySource.set(ip, n - 1);
    if (this.#tx > 0) this.#tx--;
    if (!wasKnown && this.#unknownTx > 0) this.#unknownTx--;
  }

  /** Takes a dialog slot for `ip`; null when granted. */
  takeDialog(ip: string): SipRefusal | null {
    const l = this.#limits();
    const n = this.#dialogsBySource.get(ip) ?? 0;
    if (n >= l.maxDialogsPerSource * (this.isTrusted(ip) ? l.knownFactor : 1)) return this.#refuse(SipRefusal.DialogSourceLimit, ip);
    this.#dialogsBySource.set(ip, n + 1);
    return null;
  }

  releaseDialog(ip: string): void {
    const n = this.#dialogsBySource.get(ip) ?? 0;
    if (n <= 1) this.#dialogsBySource.delete(ip); else this.#dialogsBySource.set(ip, n - 1);
  }

  /**
   * May a stateless response of `responseBytes` go to `ip`, which sent `requestBytes`? Trusted sources
   * always; others within their rate, the global rate, and the amplification bound.
   */
  mayRespond(ip: string, requestBytes: number, responseBytes: number): SipRefusal | null {
    if (this.isTrusted(ip)) return null;
    const l = this.#limits();
    if (responseBytes > l.amplificationFactor * Math.max(requestBytes, 1)) return this.#refuse(SipRefusal.ResponseTooLarge, ip);
    const now = this.#now();
    if (!this.#buckets.take(ip, l.responsesPerSecondPerSource, l.responseBurstPerSource, now)) return this.#refuse(SipRefusal.ResponseRateLimited, ip);
    this.#globalTokens = Math.min(l.responsesPerSecond, this.#globalTokens + ((now - this.#globalAt) / 1000) * l.responsesPerSecond);
    this.#globalAt = now;
    if (this.#globalTokens < 1) return this.#refuse(SipRefusal.ResponseRateLimited, ip);
    this.#globalTokens -= 1;
    return null;
  }

  /** Counts (and logs, rate-limited) a refusal decided elsewhere with one of these reasons. */
  refuse(reason: SipRefusal, ip: string, fields: Record<string, unknown> = {}): SipRefusal {
    return this.#refuse(reason, ip, fields);
  }

  #refuse(reason: SipRefusal, ip: string, fields: Record<string, unknown> = {}): SipRefusal {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.#log?.warn(reason, 'sip_refused', {
      reason, source: ip, ...fields,
      note: `further ${reason} lines suppressed for ${(this.#log.intervalMs / 1000).toString()} s; see reflector_sip_events_total{name="${reason}"}`,
    });
    return reason;
  }
}

export interface UserBackoffOptions {
  /** Failures of one user within the window before the backoff starts. */
  readonly threshold: number;
  readonly windowMs: number;
  /** First backoff; each further round doubles it, up to maxBackoffMs. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  /** How long an address stays trusted for a user after the user authenticated from it. */
  readonly trustedTtlMs: number;
}

export const DEFAULT_USER_BACKOFF: UserBackoffOptions = {
  threshold: 10,
  windowMs: 60_000,
  baseBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  trustedTtlMs: 24 * 3600_000,
};

const MAX_TRUSTED_PER_USER = 8;

interface UserState {
  failures: number;
  windowStart: number;
  /** Backoff rounds so far (the next one lasts base × 2^rounds). */
  rounds: number;
  blockedUntil: number;
  /** Addresses the user authenticated from, with when they stop being trusted. */
  readonly trusted: Map<string, number>;
}

/**
 * Per-user digest failure backoff (issue 11): guesses spread over many source
 * addresses, each under the per-address limit, still count against the user.
 * After `threshold` failures within the window, attempts for that user are
 * refused without being checked, for base × 2^round (capped at maxBackoffMs);
 * a success ends the backoff.
 *
 * Trade-off: an attacker who knows a user name can keep that user in backoff.
 * So the backoff never applies to an address the user authenticated from
 * within trustedTtlMs (a real user at their usual address is not locked out),
 * and it is never longer than maxBackoffMs at a time (a real user at a new
 * address waits at most that long between tries during an attack).
 */
export class UserBackoff {
  readonly #o: UserBackoffOptions;
  readonly #now: () => number;
  readonly #users = new Map<string, UserState>();

  constructor(options: Partial<UserBackoffOptions> = {}, now: () => number = Date.now) {
    this.#o = { ...DEFAULT_USER_BACKOFF, ...options };
    this.#now = now;
  }

  /** ms the user must wait at `ip` before an attempt is checked again; 0 when it may be checked now. */
  blockedFor(user: string, ip: string): number {
    const s = this.#users.get(user);
    if (s === undefined) return 0;
    const now = this.#now();
    const trustedUntil = s.trusted.get(ip);
    if (trustedUntil !== undefined && trustedUntil > now) return 0;
    return Math.max(0, s.blockedUntil - now);
  }

  /** A failed attempt for `user` (a configured user; unknown names are the per-address limiter's). */
  fail(user: string): void {
    const now = this.#now();
    const s = this.#state(user, now);
    if (now - s.windowStart > this.#o.windowMs) { s.failures = 0; s.windowStart = now; }
    s.failures++;
    if (s.failures >= this.#o.threshold) {
      s.blockedUntil = now + Math.min(this.#o.maxBackoffMs, this.#o.baseBackoffMs * 2 ** Math.min(s.rounds, 30));
      s.rounds++;
      s.failures = 0;
      s.windowStart = now;
    }
  }

  /** The user authenticated from `ip`: the backoff ends and the address is trusted for the user. */
  succeed(user: string, ip: string): void {
    const now = this.#now();
    const s = this.#state(user, now);
    s.failures = 0;
    s.rounds = 0;
    s.blockedUntil = 0;
    s.trusted.delete(ip);
    s.trusted.set(ip, now + this.#o.trustedTtlMs);
    if (s.trusted.size > MAX_TRUSTED_PER_USER) {
      const oldest = s.trusted.keys().next().value;
      if (oldest !== undefined) s.trusted.delete(oldest);
    }
  }

  #state(user: string, now: number): UserState {
    let s = this.#users.get(user);
    if (s === undefined) {
      s = { failures: 0, windowStart: now, rounds: 0, blockedUntil: 0, trusted: new Map() };
      this.#users.set(user, s);
    }
    return s;
  }
}
