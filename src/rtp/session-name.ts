/**
 * The session-name rule (SPEC §4), one for every part that meets a name on the wire: SIP (the
 * Request-URI user part, after percent-decoding), the interconnect (SESSION_STATE from peers) and
 * the proxy (share and file announcements). 1–64 Unicode code points, no control characters (C0,
 * DEL, C1), no lone surrogates; case-sensitive. SIP meets the name percent-encoded: decodeSessionName()
 * decodes it first and words a refusal as the 400 reason phrase.
 */
export const SESSION_NAME_MAX_CODE_POINTS = 64;

/** Why a name breaks the rule; undefined when it keeps it. */
export type SessionNameFault = 'empty' | 'control_characters' | 'too_long';

// eslint-disable-next-line no-control-regex
const CONTROL_OR_LONE_SURROGATE_RE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/u;

export function sessionNameFault(name: string): SessionNameFault | undefined {
  if (name.length === 0) return 'empty';
  // In a /u pattern the surrogate range matches only lone surrogates (a pair is one astral code point).
  if (CONTROL_OR_LONE_SURROGATE_RE.test(name)) return 'control_characters';
  if (name.length > 2 * SESSION_NAME_MAX_CODE_POINTS) return 'too_long';
  let count = 0;
  for (const _cp of name) {
    void _cp;
    if (++count > SESSION_NAME_MAX_CODE_POINTS) return 'too_long';
  }
  return undefined;
}

export function isValidSessionName(name: string): boolean {
  return sessionNameFault(name) === undefined;
}

export type SessionNameResult =
  | { readonly ok: true; readonly name: string }
  /** `reason` is the 400 reason phrase. */
  | { readonly ok: false; readonly reason: string };

const REASONS = {
  empty: 'Session name missing',
  control_characters: 'Session name contains control characters',
  too_long: 'Session name too long',
} as const;

/** A SIP Request-URI user part: percent-decoded, then the rule above. */
export function decodeSessionName(userPart: string | undefined): SessionNameResult {
  if (userPart === undefined || userPart.length === 0) return { ok: false, reason: REASONS.empty };
  // Bounds the work before decoding: at most 12 characters (%XX×4) per code point.
  if (userPart.length > SESSION_NAME_MAX_CODE_POINTS * 12) return { ok: false, reason: REASONS.too_long };
  let name: string;
  try {
    name = decodeURIComponent(userPart);
  } catch {
    return { ok: false, reason: 'Session name badly percent-encoded' };
  }
  const fault = sessionNameFault(name);
  return fault === undefined ? { ok: true, name } : { ok: false, reason: REASONS[fault] };
}
