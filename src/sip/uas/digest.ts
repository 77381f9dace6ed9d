/**
 * HTTP Digest for SIP (RFC 3261 §22, RFC 7616, RFC 8760): qop=auth, MD5 and
 * SHA-256, no userhash. Nonces are stateless: base64url(timestamp ‖
 * salt ‖ HMAC-SHA256(key, timestamp ‖ salt ‖ realm)[0..16]) with a per-process random key and 8 random salt bytes,
 * valid for `nonceTtlMs`. The only state is the highest nonce-count seen per
 * nonce (bounded), to reject replays.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DigestAlgorithm, SipUser } from '../../config/types.js';
import { readU64, writeU64 } from '../../rtp/big-endian.js';

export const DEFAULT_NONCE_TTL_MS = 300_000;
const MAX_TRACKED_NONCES = 10_000;

export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  readonly qop?: string;
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
}

/** Outcome of a check; `bad_*` are failures that count towards the rate limit. */
export type DigestVerdict =
  | { readonly ok: true; readonly user: string }
  | { readonly ok: false; readonly reason: 'stale' | 'unknown_nonce' | 'bad_user' | 'bad_response' | 'bad_realm' | 'replay' | 'bad_algorithm' };

function hashHex(alg: DigestAlgorithm, s: string): string {
  return createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s, 'utf8').digest('hex');
}

const AUTH_PARAM_RE = /\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?/y;
const MAX_AUTH_PARAMS = 32;

/**
 * `key=value` pairs of a credentials or challenge list (keys lower-case, values as written). The scan is
 * sticky and skips to the next ',' after a piece it cannot read, so it is linear in the text: the former
 * global-regex scan retried at every position and took ~0.5 s for 8 KB of letters without '=' (found by
 * tools/fuzz.ts, target digest).
 */
function authParams(text: string): [string, string][] {
  const out: [string, string][] = [];
  let pos = 0;
  while (pos < text.length && out.length < MAX_AUTH_PARAMS) {
    AUTH_PARAM_RE.lastIndex = pos;
    const m = AUTH_PARAM_RE.exec(text);
    if (m !== null && m[0].length > 0) {
      out.push([(m[1] ?? '').toLowerCase(), m[2] ?? '']);
      pos = AUTH_PARAM_RE.lastIndex;
      continue;
    }
    const comma = text.indexOf(',', pos);
    if (comma < 0) break;
    pos = comma + 1;
  }
  return out;
}

/** Splits an Authorization header value (possibly several, comma-joined) into Digest credential sets. */
export function parseAuthorization(value: string): DigestCredentials[] {
  const out: DigestCredentials[] = [];
  // Each set starts with the scheme token "Digest".
  const parts = value.split(/(?:^|,)\s*Digest\s+/i).filter((p) => p.trim().length > 0);
  for (const part of parts.slice(0, 8)) {
    const p = new Map<string, string>();
    // key=value pairs separated by commas; values may be quoted and contain commas.
    for (const [k, raw] of authParams(part)) {
      let v = raw;
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      p.set(k, v);
    }
    const username = p.get('username');
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) continue;
    const algRaw = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const algorithm: DigestAlgorithm | undefined = algRaw === 'MD5' ? 'MD5' : algRaw === 'SHA-256' ? 'SHA-256' : undefined;
    if (algorithm === undefined) continue;
    const qop = p.get('qop');
    const nc = p.get('nc');
    const cnonce = p.get('cnonce');
    const opaque = p.get('opaque');
    out.push({
      username, realm, nonce, uri, response, algorithm,
      ...(qop !== undefined ? { qop } : {}), ...(nc !== undefined ? { nc } : {}),
      ...(cnonce !== undefined ? { cnonce } : {}), ...(opaque !== undefined ? { opaque } : {}),
    });
  }
  return out;
}

/** Computes the digest response (RFC 7616 §3.4.1) from HA1. */
export function digestResponse(alg: DigestAlgorithm, ha1: string, method: string, c: {
  nonce: string; uri: string; qop?: string | undefined; nc?: string | undefined; cnonce?: string | undefined;
}): string {
  const ha2 = hashHex(alg, `${method}:${c.uri}`);
  if (c.qop === 'auth') return hashHex(alg, `${ha1}:${c.nonce}:${c.nc ?? ''}:${c.cnonce ?? ''}:auth:${ha2}`);
  return hashHex(alg, `${ha1}:${c.nonce}:${ha2}`);
}

export function computeHa1(alg: DigestAlgorithm, user: string, realm: string, password: string): string {
  return hashHex(alg, `${user}:${realm}:${password}`);
}

export class DigestAuthenticator {
  readonly #key = randomBytes(32);
  readonly #ttlMs: number;
  readonly #now: () => number;
  #realm: string;
  #algorithms: readonly DigestAlgorithm[];
  #users = new Map<string, SipUser>();
  /** Highest nonce-count seen per nonce (insertion order ≈ age, for eviction). */
  readonly #nc = new Map<string, number>();

  constructor(opts: { realm: string; algorithms: readonly DigestAlgorithm[]; users: readonly SipUser[]; nonceTtlMs?: number; now?: () => number }) {
    this.#realm = opts.realm;
    this.#algorithms = opts.algorithms;
    this.#ttlMs = opts.nonceTtlMs ?? DEFAULT_NONCE_TTL_MS;
    this.#now = opts.now ?? Date.now;
    this.setUsers(opts.users);
  }

  reconfigure(realm: string, algorithms: readonly DigestAlgorithm[], users: readonly SipUser[]): void {
    this.#realm = realm;
    this.#algorithms = algorithms;
    this.setUsers(users);
  }

  setUsers(users: readonly SipUser[]): void {
    this.#users = new Map(users.map((u) => [u.name, u]));
  }

  get realm(): string {
    return this.#realm;
  }

  newNonce(): string {
    const ts = Buffer.alloc(8);
    writeU64(ts, 0, BigInt(Math.floor(this.#now())));
    const salted = Buffer.concat([ts, randomBytes(8)]);
    return Buffer.concat([salted, this.#mac(salted)]).toString('base64url');
  }

  #mac(tsSalt: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(tsSalt).update(this.#realm, 'utf8').digest().subarray(0, 16);
  }

  /** 'valid' | 'stale' | 'unknown' for a nonce we may have issued. */
  nonceState(nonce: string): 'valid' | 'stale' | 'unknown' {
    if (!/^[A-Za-z0-9_-]{43}$/.test(nonce)) return 'unknown';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32) return 'unknown';
    const tsSalt = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.#mac(tsSalt))) return 'unknown';
    const age = this.#now() - Number(readU64(tsSalt, 0));
    return age >= 0 && age <= this.#ttlMs ? 'valid' : 'stale';
  }

  /** WWW-Authenticate header values, one per algorithm in the configured order (RFC 8760 §2.4). */
  challenges(stale: boolean): string[] {
    const nonce = this.newNonce();
    return this.#algorithms.map((alg) =>
      `Digest realm="${this.#realm}", nonce="${nonce}", algorithm=${alg}, qop="auth"${stale ? ', stale=true' : ''}`);
  }

  #ha1(user: SipUser, alg: DigestAlgorithm): string | undefined {
    if (user.password !== undefined) return computeHa1(alg, user.name, this.#realm, user.password);
    if (alg === 'MD5') return user.ha1Md5?.toLowerCase();
    return user.ha1Sha256?.toLowerCase();
  }

  /**
   * Checks credentials for `method`. `inDialog`: requests of an established
   * dialog (ACK, BYE, re-INVITE) — nonce age is not enforced and an equal
   * nonce-count (credentials repeated from the INVITE) is not a replay;
   * only a count that goes backwards is.
   */
  verify(creds: DigestCredentials, method: string, inDialog: boolean): DigestVerdict {
    if (!this.#algorithms.includes(creds.algorithm)) return { ok: false, reason: 'bad_algorithm' };
    if (creds.realm !== this.#realm) return { ok: false, reason: 'bad_realm' };
    const state = this.nonceState(creds.nonce);
    if (state === 'unknown') return { ok: false, reason: 'unknown_nonce' };
    const user = this.#users.get(creds.username);
    const ha1 = user !== undefined ? this.#ha1(user, creds.algorithm) : undefined;
    if (user === undefined || ha1 === undefined) return { ok: false, reason: 'bad_user' };
    const qop = creds.qop;
    if (qop !== undefined && qop !== 'auth') return { ok: false, reason: 'bad_response' };
    const expected = digestResponse(creds.algorithm, ha1, method, creds);
    const got = creds.response.toLowerCase();
    if (got.length !== expected.length || !timingSafeEqual(Buffer.from(got), Buffer.from(expected))) {
      return { ok: false, reason: 'bad_response' };
    }
    if (state === 'stale' && !inDialog) return { ok: false, reason: 'stale' };
    if (qop === 'auth') {
      const nc = /^[0-9a-fA-F]{8}$/.test(creds.nc ?? '') ? parseInt(creds.nc ?? '', 16) : NaN;
      if (!Number.isFinite(nc) || nc === 0) return { ok: false, reason: 'bad_response' };
      const key = `${creds.nonce}:${creds.cnonce ?? ''}`;
      const last = this.#nc.get(key);
      if (last !== undefined && (nc < last || (nc === last && !inDialog))) return { ok: false, reason: 'replay' };
      if (last === undefined || nc > last) {
        this.#nc.delete(key);
        this.#nc.set(key, nc);
        if (this.#nc.size > MAX_TRACKED_NONCES) {
          const oldest = this.#nc.keys().next().value;
          if (oldest !== undefined) this.#nc.delete(oldest);
        }
      }
    }
    return { ok: true, user: user.name };
  }
}

/** Per-source-IP failure limiter: after `maxFailures` within `windowMs`, the source is blocked until the window ends. */
export class FailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { count: number; since: number }>();
  static readonly MAX_ENTRIES = 10_000;

  constructor(maxFailures = 5, windowMs = 60_000, now: () => number = Date.now) {
    this.#max = maxFailures;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  blocked(ip: string): boolean {
    const e = this.#entries.get(ip);
    if (e === undefined) return false;
    if (this.#now() - e.since > this.#windowMs) {
      this.#entries.delete(ip);
      return false;
    }
    return e.count >= this.#max;
  }

  fail(ip: string): void {
    const now = this.#now();
    const e = this.#entries.get(ip);
    if (e === undefined || now - e.since > this.#windowMs) {
      this.#entries.delete(ip);
      this.#entries.set(ip, { count: 1, since: now });
      if (this.#entries.size > FailureLimiter.MAX_ENTRIES) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
    } else {
      e.count++;
    }
  }
}

/** Parses one WWW-Authenticate value (client side, tools/lib and tests). */
export function parseChallenge(value: string): { algorithm: string; realm: string; nonce: string; qop?: string; stale: boolean; opaque?: string } | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (m === null) return undefined;
  const p = new Map<string, string>();
  for (const [k, raw] of authParams(m[1] ?? '')) {
    let v = raw;
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    p.set(k, v);
  }
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const qop = p.get('qop');
  const opaque = p.get('opaque');
  return {
    algorithm: (p.get('algorithm') ?? 'MD5').toUpperCase(), realm, nonce,
    ...(qop !== undefined ? { qop } : {}), ...(opaque !== undefined ? { opaque } : {}),
    stale: (p.get('stale') ?? '').toLowerCase() === 'true',
  };
}
