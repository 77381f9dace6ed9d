/**
 * Session names as peers announce them (SPEC §4: 1–64 Unicode code points, no
 * control characters). A peer's SESSION_STATE with any other name is dropped.
 */
export const SESSION_NAME_MAX_CODE_POINTS = 64;

export function isValidSessionName(name: string): boolean {
  if (name.length === 0 || name.length > 2 * SESSION_NAME_MAX_CODE_POINTS) return false;
  let codePoints = 0;
  for (const ch of name) {
    const cp = ch.codePointAt(0) ?? 0;
    // C0, DEL, C1 controls; lone surrogates (the decoder gives U+FFFD for bad UTF-8, which is allowed).
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (++codePoints > SESSION_NAME_MAX_CODE_POINTS) return false;
  }
  return true;
}
