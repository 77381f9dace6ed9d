/**
 * SDES key exchange for SRTP (RFC 4568) in the reflector's SDP answers:
 * picks the first acceptable `a=crypto` line of an `RTP/SAVP(F)` stream and
 * makes the reflector's own key for the answer. Supported: the suites of
 * SRTP_SUITES, one `inline:` key per line with an optional lifetime
 * (decimal or 2^n) and MKI (1-4 bytes); lines with session parameters
 * (KDR, UNENCRYPTED_SRTP, FEC_ORDER, ...) or several keys are skipped, and a
 * stream without an acceptable line is rejected.
 */
import { randomBytes } from 'node:crypto';
import type { SrtpStreamKeys } from '../../reflector/api.js';
import { writeU32 } from '../../rtp/big-endian.js';
import { MASTER_KEY_LENGTH, MASTER_SALT_LENGTH, SRTP_SUITES, type SrtpKey, type SrtpSuite } from '../../srtp/srtp-keys.js';

/** SRTP policy (config key SRTP). */
export type SrtpPolicy = 'off' | 'optional' | 'required';

export interface OfferedCrypto {
  readonly id: number;
  readonly suite: string;
  readonly config: string;
  readonly sessionConfig?: string;
}

export type CryptoChoice =
  | { readonly ok: true; readonly keys: SrtpStreamKeys; readonly answer: { id: number; suite: string; config: string } }
  | { readonly ok: false; readonly reason: string };

const KEY_BYTES = MASTER_KEY_LENGTH + MASTER_SALT_LENGTH;
const BASE64 = /^[A-Za-z0-9+/]{40}$/;

function parseLifetime(s: string): number | undefined {
  const pow = /^2\^(\d{1,2})$/.exec(s);
  if (pow !== null) {
    const e = Number(pow[1]);
    return e >= 1 && e <= 48 ? 2 ** e : undefined;
  }
  if (/^\d{1,15}$/.test(s)) {
    const n = Number(s);
    return n >= 1 ? n : undefined;
  }
  return undefined;
}

/** One `inline:key||salt[|lifetime][|mki:len]` key-param, or a reason why not. */
export function parseKeyParams(suite: SrtpSuite, config: string): SrtpKey | string {
  if (config.includes(';')) return 'several keys in one line';
  const m = /^inline:([^|]*)((?:\|[^|]*){0,2})$/.exec(config.trim());
  if (m === null) return 'key-params not inline:';
  if (!BASE64.test(m[1])) return 'key is not 30 bytes of base64';
  const material = Buffer.from(m[1], 'base64');
  if (material.length !== KEY_BYTES) return 'key is not 30 bytes';
  let lifetime: number | undefined;
  let mki: Buffer | undefined;
  for (const part of m[2].split('|').slice(1)) {
    const mk = /^(\d{1,10}):(\d{1,3})$/.exec(part);
    if (mk !== null) {
      const len = Number(mk[2]);
      const value = Number(mk[1]);
      if (len < 1 || len > 4 || value >= 2 ** (8 * len)) return 'MKI longer than 4 bytes or too large';
      const word = Buffer.alloc(4);
      writeU32(word, 0, value);
      mki = word.subarray(4 - len);
      continue;
    }
    const lt = parseLifetime(part);
    if (lt === undefined) return 'bad lifetime';
    lifetime = lt;
  }
  return {
    suite,
    masterKey: material.subarray(0, MASTER_KEY_LENGTH),
    masterSalt: material.subarray(MASTER_KEY_LENGTH),
    ...(lifetime !== undefined ? { lifetime } : {}),
    ...(mki !== undefined ? { mki } : {}),
  };
}

export function keyToInline(key: SrtpKey): string {
  return `inline:${Buffer.concat([key.masterKey, key.masterSalt]).toString('base64')}`;
}

export function newLocalKey(suite: SrtpSuite): SrtpKey {
  const m = randomBytes(KEY_BYTES);
  return { suite, masterKey: m.subarray(0, MASTER_KEY_LENGTH), masterSalt: m.subarray(MASTER_KEY_LENGTH) };
}

/**
 * The first acceptable crypto line of the offer (offerer's preference order, RFC 4568 §7.1.1).
 * `previous` keeps the reflector's key across re-INVITEs when the suite stays the same.
 */
export function chooseCrypto(offered: readonly OfferedCrypto[], previous?: SrtpStreamKeys): CryptoChoice {
  const reasons: string[] = [];
  for (const c of offered.slice(0, 16)) {
    const suite = SRTP_SUITES.find((s) => s === c.suite.toUpperCase());
    if (suite === undefined) { reasons.push(`${c.suite}: unsupported suite`); continue; }
    if (!Number.isInteger(c.id) || c.id < 0 || c.id > 999_999_999) { reasons.push(`${c.suite}: bad tag`); continue; }
    if (c.sessionConfig !== undefined && c.sessionConfig.trim().length > 0) { reasons.push(`${c.suite}: session parameters not supported`); continue; }
    const remote = parseKeyParams(suite, c.config);
    if (typeof remote === 'string') { reasons.push(`${c.suite}: ${remote}`); continue; }
    const local = previous !== undefined && previous.suite === suite ? previous.local : newLocalKey(suite);
    return {
      ok: true,
      keys: { suite, tag: c.id, remote, local },
      answer: { id: c.id, suite, config: keyToInline(local) },
    };
  }
  return { ok: false, reason: reasons.length === 0 ? 'no a=crypto line' : reasons.slice(0, 3).join('; ') };
}

/**
 * SPEC §15: SDES keys in SDP over plain UDP/TCP SIP are visible on the wire. Logs a warning the
 * first time that happens (once per process lifetime of the SIP front end), not per call.
 */
export class KeyExposureWarning {
  #warned = false;

  check(log: { warn(event: string, fields?: Record<string, unknown>): void }, transport: string,
    streams: readonly { readonly srtp?: unknown }[]): void {
    if (this.#warned || transport === 'tls' || !streams.some((s) => s.srtp !== undefined)) return;
    this.#warned = true;
    log.warn('srtp_keys_in_clear', {
      transport,
      note: 'SRTP keys (SDES a=crypto) were exchanged over unencrypted SIP: anyone who sees the signalling can decrypt the media; use SIP over TLS (logged once)',
    });
  }
}
