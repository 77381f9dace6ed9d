/**
 * Payload-type translation tables (SPEC §4): a participant may send with the
 * session's canonical numbers or its own offered ones; both map to canonical
 * on the way in, and canonical maps to the participant's own number on the
 * way out. 256-entry tables indexed by the 7-bit PT; NO_PT marks "no mapping".
 */
import type { CodecMapping } from './api.js';

export const NO_PT = 0xff;
const PT_TABLE_SIZE = 256;

export interface PtTables {
  /** participant PT or canonical PT → canonical PT. */
  readonly inbound: Uint8Array;
  /** canonical PT → the PT this participant offered. */
  readonly outbound: Uint8Array;
}

export function buildPtTables(codecs: readonly CodecMapping[]): PtTables {
  const inbound = new Uint8Array(PT_TABLE_SIZE).fill(NO_PT);
  const outbound = new Uint8Array(PT_TABLE_SIZE).fill(NO_PT);
  // Canonical numbers first, so the participant's own numbering wins a clash.
  for (const c of codecs) {
    if (!validPt(c.canonicalPt) || !validPt(c.participantPt)) continue;
    inbound[c.canonicalPt] = c.canonicalPt;
  }
  for (const c of codecs) {
    if (!validPt(c.canonicalPt) || !validPt(c.participantPt)) continue;
    inbound[c.participantPt] = c.canonicalPt;
    if (outbound[c.canonicalPt] === NO_PT) outbound[c.canonicalPt] = c.participantPt;
  }
  return { inbound, outbound };
}

function validPt(pt: number): boolean {
  return Number.isInteger(pt) && pt >= 0 && pt <= 127;
}
