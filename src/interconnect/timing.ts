/** The interconnect's intervals and how many of them make a peer or a peer's session gone (SPEC §6). */

export interface InterconnectTiming {
  /** HELLO interval (SPEC §6: 5 s). */
  readonly helloMs: number;
  /** SESSION_STATE refresh interval (SPEC §6: 5 s). */
  readonly refreshMs: number;
}

export const DEFAULT_TIMING: InterconnectTiming = { helloMs: 5000, refreshMs: 5000 };
/** SPEC §6: a peer is down after 3 missed HELLOs. */
export const MISSED_HELLOS = 3;
/** A peer's session not refreshed for this many refresh intervals is forgotten (a lost COUNT 0). */
export const MISSED_REFRESHES = 3;
/** close() waits at most this long for the final COUNT 0 packets to leave; retired socket pairs as long. */
export const CLOSE_FLUSH_MS = 500;
