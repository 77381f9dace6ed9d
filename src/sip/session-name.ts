/**
 * Session names (SPEC §4): the Request-URI user part, percent-decoded, 1–64
 * Unicode code points, no control characters, case-sensitive.
 */
export const MAX_SESSION_NAME_CODE_POINTS = 64;

export type SessionNameResult =
  | { readonly ok: true; readonly name: string }
  /** `reason` is the 400 reason phrase. */
  | { readonly ok: false; readonly reason: string };

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/u;

export function decodeSessionName(userPart: string | undefined): SessionNameResult {
  if (userPart === undefined || userPart.length === 0) return { ok: false, reason: 'Session name missing' };
  if (userPart.length > MAX_SESSION_NAME_CODE_POINTS * 12) return { ok: false, reason: 'Session name too long' };
  let name: string;
  try {
    name = decodeURIComponent(userPart);
  } catch {
    return { ok: false, reason: 'Session name badly percent-encoded' };
  }
  if (name.length === 0) return { ok: false, reason: 'Session name missing' };
  if (CONTROL_RE.test(name)) return { ok: false, reason: 'Session name contains control characters' };
  let count = 0;
  for (const _cp of name) {
    void _cp;
    if (++count > MAX_SESSION_NAME_CODE_POINTS) return { ok: false, reason: 'Session name too long' };
  }
  // Lone surrogates cannot come out of decodeURIComponent, so `name` is well-formed Unicode.
  return { ok: true, name };
}
