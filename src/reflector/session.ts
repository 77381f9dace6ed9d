/**
 * A session: its participants, its canonical codec tables, and the
 * precomputed recipient lists of the fan-out. The lists are rebuilt when
 * membership, directions, latched sources or the mixer change — never per
 * packet. The sender is skipped while iterating (one comparison), so one list
 * per flow serves every sender.
 */
import type { Medium, SessionCodec, StreamCounters } from './api.js';
import { allowedDestination } from './destination.js';
import { FLOW_AUDIO_RTCP, FLOW_AUDIO_RTP, FLOW_COUNT, flowIndex, MEDIUM_AUDIO, mediumIndex } from './media-kind.js';
import type { ParticipantState } from './participant.js';

/** One recipient of one flow: where to send, which PT table, which counters. */
export class Target {
  readonly participant: ParticipantState;
  readonly address: string;
  readonly port: number;
  readonly outPt: Uint8Array;
  readonly counters: StreamCounters;
  /** The recipient's telephone-event PT and clock rate for converted events (NO_PT / 0: none negotiated). */
  tePt = 0xff;
  teRateHz = 0;

  constructor(participant: ParticipantState, address: string, port: number, outPt: Uint8Array, counters: StreamCounters) {
    this.participant = participant;
    this.address = address;
    this.port = port;
    this.outPt = outPt;
    this.counters = counters;
  }
}

const EMPTY: readonly Target[] = [];

export class SessionState {
  readonly name: string;
  readonly createdAt: number;
  readonly participants = new Map<string, ParticipantState>();
  /** Canonical codecs by medium index, in the order first used. */
  readonly codecs: [SessionCodec[], SessionCodec[]] = [[], []];
  /** 1 where a canonical audio PT is telephone-event (forwarded to mixed participants too). */
  readonly telephoneEvent = new Uint8Array(256);
  /** Clock rate of each canonical telephone-event PT (0 elsewhere), for conversion between rates. */
  readonly telephoneEventRate = new Uint32Array(256);
  /** Recipients by flow index (audio RTP, audio RTCP, video RTP, video RTCP). */
  targets: (readonly Target[])[] = [EMPTY, EMPTY, EMPTY, EMPTY];
  /** Audio RTP recipients in `mix` mode while the mixer is set: they get telephone-event only. */
  mixTargets: readonly Target[] = EMPTY;
  /** Participants in `mix` mode. */
  mixCount = 0;

  constructor(name: string, now: number) {
    this.name = name;
    this.createdAt = now;
  }

  /** Adds canonical codecs that the session does not know yet (SPEC §4: order first used). */
  registerCodecs(medium: Medium, codecs: readonly { canonicalPt: number; name: string; clockRateHz: number; channels: number; fmtp?: string }[]): void {
    const m = mediumIndex(medium);
    const table = this.codecs[m];
    for (const c of codecs) {
      if (!Number.isInteger(c.canonicalPt) || c.canonicalPt < 0 || c.canonicalPt > 127) continue;
      if (table.some((t) => t.pt === c.canonicalPt)) continue;
      const entry: SessionCodec = c.fmtp === undefined
        ? { pt: c.canonicalPt, name: c.name, clockRateHz: c.clockRateHz, channels: c.channels }
        : { pt: c.canonicalPt, name: c.name, clockRateHz: c.clockRateHz, channels: c.channels, fmtp: c.fmtp };
      table.push(entry);
      if (m === MEDIUM_AUDIO && c.name.toLowerCase() === 'telephone-event') {
        this.telephoneEvent[c.canonicalPt] = 1;
        this.telephoneEventRate[c.canonicalPt] = c.clockRateHz;
      }
    }
  }

  /** Recomputes the recipient lists. `mixerActive`: the mixer hook is set (SPEC §13). */
  rebuildTargets(mixerActive: boolean): void {
    const lists: Target[][] = [];
    for (let f = 0; f < FLOW_COUNT; f++) lists.push([]);
    const mix: Target[] = [];
    let mixCount = 0;
    for (const p of this.participants.values()) {
      if (p.mode === 'mix') mixCount++;
      for (const s of p.streams) {
        if (s === null || !s.receives) continue;
        for (const rtcp of [0, 1] as const) {
          const dest = allowedDestination(s, rtcp);
          if (dest === null) continue;
          const flow = flowIndex(s.mediumIndex, rtcp === 1);
          const t = new Target(p, dest.address, dest.port, s.outPt, s.counters);
          t.tePt = s.telephoneEvent.pt;
          t.teRateHz = s.telephoneEvent.rateHz;
          const mixed = mixerActive && p.mode === 'mix' && (flow === FLOW_AUDIO_RTP || flow === FLOW_AUDIO_RTCP);
          if (!mixed) lists[flow].push(t);
          else if (flow === FLOW_AUDIO_RTP) mix.push(t);
        }
      }
    }
    this.targets = lists;
    this.mixTargets = mix;
    this.mixCount = mixCount;
  }
}
