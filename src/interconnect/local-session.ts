/**
 * Our side of one interconnected session (shims, RELAY_ID, who gets its media,
 * duplicate windows) and what we announce of it to a peer.
 */
import { randomInt } from 'node:crypto';
import type { Medium } from '../reflector/api.js';
import { RELAY_MAX_HOPS, RELAY_SHIM_SIZE, RelayMedium, writeRelayShim } from '../rtp/relay-shim.js';
import type { DupWindow } from './dup-window.js';
import type { Peer } from './peer.js';

/** Flows per session: medium * 2 + rtcp. */
export const FLOWS = 4;

/** Index of a medium in per-medium tables: its shim medium number (SPEC §6: 0 audio, 1 video). */
export const MEDIUM_INDEX: Readonly<Record<Medium, RelayMedium>> = { audio: RelayMedium.Audio, video: RelayMedium.Video };
export const MEDIUM_BY_INDEX: readonly Medium[] = ['audio', 'video'];

/** What we last announced to one peer for one session. */
export interface SentState {
  readonly count: number;
  /** COUNT, ORIGINS and JOINS as text, to see a change. */
  readonly sig: string;
}

/** What we announce to one peer for one session. */
export interface StateFor {
  readonly count: number;
  readonly origins: Map<number, number> | null;
  readonly joins: Set<number> | null;
  readonly sig: string;
}

/** The state announced when we have nothing for a session (COUNT 0). */
export const EMPTY_STATE: StateFor = { count: 0, origins: null, joins: null, sig: '0||' };

/** Our side of one session known to the interconnect (local participants or learned from peers). */
export class LocalSession {
  readonly name: string;
  /** Our RELAY_ID for the session: what our relay datagrams carry. */
  readonly relayId: number;
  /** Version-1 shim per (medium, hop): index MEDIUM_INDEX * RELAY_MAX_HOPS + hop - 1. Constant bytes. */
  readonly shims: Buffer[];
  /** Last non-empty state sent to each peer (absent = nothing, or COUNT 0 sent). */
  readonly sent = new Map<string, SentState>();
  /** Peers whose last COUNT for the session is > 0 (announcements of the proxy go to them). */
  wanting: Peer[] = [];
  wantingKeys: string[] = [];
  /** Version-1 peers with COUNT > 0 that got our RELAY_ID: they get all of the session's media. */
  legacyTo: Peer[] = [];
  /** Per origin NODE_ID: version-2 peers that joined it here and got our RELAY_ID. */
  targets = new Map<number, Peer[]>();
  /** Our ORIGIN_SEQ per flow (medium * 2 + rtcp); a random start, so a new session is a new sequence space. */
  readonly originSeq = new Uint32Array(FLOWS);
  /** Duplicate windows per origin, one per flow. */
  readonly windows = new Map<number, DupWindow[]>();

  constructor(name: string, relayId: number) {
    this.name = name;
    this.relayId = relayId;
    const block = Buffer.alloc(RELAY_SHIM_SIZE * RELAY_MAX_HOPS * MEDIUM_BY_INDEX.length);
    this.shims = [];
    for (let m = 0; m < MEDIUM_BY_INDEX.length; m++) {
      for (let hop = 1; hop <= RELAY_MAX_HOPS; hop++) {
        const offset = (m * RELAY_MAX_HOPS + hop - 1) * RELAY_SHIM_SIZE;
        writeRelayShim(MEDIUM_INDEX[MEDIUM_BY_INDEX[m]], hop, relayId, block, offset);
        this.shims.push(block.subarray(offset, offset + RELAY_SHIM_SIZE));
      }
    }
    for (let f = 0; f < FLOWS; f++) this.originSeq[f] = randomInt(0, 0x1_0000_0000);
  }
}
