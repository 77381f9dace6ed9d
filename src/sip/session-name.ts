/**
 * Session names in SIP (SPEC §4): the Request-URI user part, percent-decoded, then the one
 * session-name rule of src/rtp/session-name.ts; a refusal carries the 400 reason phrase.
 */
import { SESSION_NAME_MAX_CODE_POINTS, sessionNameFault } from '../rtp/session-name.js';

export type SessionNameResult =
  | { readonly ok: true; readonly name: string }
  /** `reason` is the 400 reason phrase. */
  | { readonly ok: false; readonly reason: string };

const REASONS = {
  empty: 'Session name missing',
  control_characters: 'Session name contains control characters',
  too_long: 'Session name too long',
} as const;

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
