/**
 * The audio mixer (SPEC §13), wired to the reflector core through its MixerPort
 * hook. For every session with `mix` participants it keeps a MixerSession: an
 * input per audio source (local participant, or SSRC relayed from a peer) and an
 * output per `mix` participant, mixed on a steady 20 ms clock. Outputs leave
 * through core.sendTo(…, 'audio', …), i.e. from AUDIO_PORT (SPEC §5), in the
 * participant's first codec that the mixer supports, with its payload type.
 * telephone-event (RFC 4733) is not mixed: each event is regenerated in every other mixed
 * participant's stream (its SSRC, sequence and timestamps; its telephone-event PT and clock rate).
 */
import type { Config } from '../config/types.js';
import type { Component } from '../runtime/component.js';
import { DropCounter } from '../runtime/drop-counter.js';
import type { Logger } from '../runtime/logger.js';
import { TimerSet } from '../runtime/timer-set.js';
import type {
  CodecMapping,
  LeaveReason,
  MixerPort,
  ParticipantSnapshot,
  ReflectorCore,
} from '../reflector/api.js';
import { readU32 } from '../rtp/big-endian.js';
import { findMixerCodec, mixerCodecNames, opusUnavailableReason, type MixerCodec } from './codecs.js';
import { MixClock, monotonicMs } from './mix-clock.js';
import { FRAME_MS, MixerSession, newMixerCounters, type MixerCounters, type OutputSpec } from './mixer-session.js';


export interface MixerDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly core: ReflectorCore;
}

export type Mixer = Component & { stats(): Record<string, number> };

/** RTCP SR/SDES interval per mixed stream (RFC 3550 §6.2 minimum is 5 s). */
const REPORT_INTERVAL_MS = 5000;
/** How often outputs are reconciled with the core's view (re-INVITE codec or hold changes). */
const REFRESH_INTERVAL_MS = 2000;
/** An input that sent nothing for this long is forgotten (relayed SSRCs that left). */
const INPUT_IDLE_MS = 10000;
/** Unknown canonical PTs trigger at most one codec-table refresh per session per second. */
const PT_REFRESH_MS = 1000;

export const MixerIgnore = {
  UnknownSession: 'mixer_unknown_session',
  UnsupportedCodec: 'mixer_unsupported_codec',
  RtpTooShort: 'mixer_rtp_too_short',
} as const;


/** Canonical PT → mixer codec for one session (from core.sessionCodecs). */
class PtTable {
  readonly codecs: (MixerCodec | null)[] = new Array<MixerCodec | null>(128).fill(null);
  readonly channels = new Uint8Array(128);
  readonly known = new Uint8Array(128);
  readonly telephoneEvent = new Uint8Array(128);
  readonly telephoneEventRate = new Uint32Array(128);
  refreshedAtMs = -Infinity;

  rebuild(core: ReflectorCore, session: string, nowMs: number): void {
    this.refreshedAtMs = nowMs;
    this.codecs.fill(null);
    this.known.fill(0);
    this.telephoneEvent.fill(0);
    this.telephoneEventRate.fill(0);
    for (const c of core.sessionCodecs(session, 'audio')) {
      if (c.pt < 0 || c.pt > 127) continue;
      this.known[c.pt] = 1;
      this.channels[c.pt] = c.channels;
      if (c.name.toLowerCase() === 'telephone-event') {
        this.telephoneEvent[c.pt] = 1;
        this.telephoneEventRate[c.pt] = c.clockRateHz > 0 ? c.clockRateHz : 8000;
      } else this.codecs[c.pt] = findMixerCodec(c.name, c.clockRateHz);
    }
  }
}

interface MixedSessionState {
  readonly mixer: MixerSession;
  readonly pts: PtTable;
  /** SSRC of relayed media → input key, so relayed packets need no string building. */
  readonly relayKeys: Map<number, string>;
}

export class AudioMixer implements MixerPort, Component {
  readonly #core: ReflectorCore;
  readonly #log: Logger;
  #config: Config;
  readonly #sessions = new Map<string, MixedSessionState>();
  readonly #counters: MixerCounters = newMixerCounters();
  readonly #drops = new DropCounter();
  readonly #timers = new TimerSet();
  readonly #clock: MixClock;
  #started = false;
  #closed = false;

  constructor(deps: MixerDeps) {
    this.#core = deps.core;
    this.#log = deps.logger.child({ component: 'mixer' });
    this.#config = deps.config;
    this.#clock = new MixClock(FRAME_MS, (due) => this.#tick(due));
  }

  readonly #onJoined = (p: ParticipantSnapshot): void => {
    try {
      if (p.mode === 'mix') this.#applyParticipant(p);
    } catch (err) {
      this.#log.error('mixer_join_failed', { participant: p.id, error: String(err) });
    }
  };

  /** Hold (sendonly/inactive), resume or a codec change takes effect at once, not at the next refresh. */
  readonly #onUpdated = (p: ParticipantSnapshot): void => {
    try {
      if (p.mode === 'mix') this.#applyParticipant(p);
    } catch (err) {
      this.#log.error('mixer_update_failed', { participant: p.id, error: String(err) });
    }
  };

  readonly #onRemoved = (id: string, session: string, _reason: LeaveReason): void => {
    const s = this.#sessions.get(session);
    if (s === undefined) return;
    s.mixer.removeParticipant(id);
    this.#dropSessionIfIdle(session, s);
  };

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const events = this.#core.events;
    events.on('participant-joined', this.#onJoined);
    events.on('participant-updated', this.#onUpdated);
    events.on('participant-removed', this.#onRemoved);
    this.#core.setMixerPort(this);
    this.#refresh();
    this.#timers.every('refresh', REFRESH_INTERVAL_MS, () => this.#guard('refresh', () => this.#refresh()));
    this.#timers.every('reports', 1000, () => this.#guard('reports', () => this.#sendReports()));
    this.#log.info('mixer_started', { codecs: mixerCodecNames() });
    const opusError = opusUnavailableReason();
    if (opusError !== null) this.#log.warn('mixer_opus_unavailable', { error: opusError });
  }

  reload(config: Config): void {
    this.#config = config;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.stop();
    this.#timers.dispose();
    if (this.#started) {
      this.#core.setMixerPort(null);
      this.#core.events.off('participant-joined', this.#onJoined);
      this.#core.events.off('participant-updated', this.#onUpdated);
      this.#core.events.off('participant-removed', this.#onRemoved);
    }
    for (const s of this.#sessions.values()) s.mixer.close();
    this.#sessions.clear();
  }

  stats(): Record<string, number> {
    let inputs = 0;
    let outputs = 0;
    for (const s of this.#sessions.values()) {
      inputs += s.mixer.inputCount;
      outputs += s.mixer.outputCount;
    }
    return {
      mixer_sessions: this.#sessions.size,
      mixer_inputs: inputs,
      mixer_outputs: outputs,
      mixer_rtp_in: this.#counters.rtpIn,
      mixer_rtp_out: this.#counters.rtpOut,
      mixer_rtcp_in: this.#counters.rtcpIn,
      mixer_rtcp_out: this.#counters.rtcpOut,
      mixer_frames: this.#counters.framesMixed,
      mixer_concealed_frames: this.#counters.concealedFrames,
      mixer_shared_encodings: this.#counters.sharedEncodings,
      mixer_telephone_event_in: this.#counters.telephoneEventsIn,
      mixer_telephone_event_out: this.#counters.telephoneEventsOut,
      mixer_clock_skipped_frames: this.#clock.skippedFrames,
      ...this.#drops.snapshot(),
    };
  }

  // MixerPort ---------------------------------------------------------------

  onAudioRtp(session: string, fromParticipant: string | null, canonicalPt: number, packet: Buffer): void {
    try {
      const s = this.#sessions.get(session);
      if (s === undefined) {
        this.#drops.add(MixerIgnore.UnknownSession);
        return;
      }
      if (packet.length < 12) {
        this.#drops.add(MixerIgnore.RtpTooShort);
        return;
      }
      const now = monotonicMs();
      const pts = s.pts;
      const pt = canonicalPt & 0x7f;
      if (pts.known[pt] === 0 && now - pts.refreshedAtMs >= PT_REFRESH_MS) pts.rebuild(this.#core, session, now);
      const isEvent = pts.telephoneEvent[pt] === 1;
      const codec = pts.codecs[pt];
      if (!isEvent && codec === null) {
        this.#drops.add(MixerIgnore.UnsupportedCodec);
        return;
      }
      let key: string;
      if (fromParticipant !== null) {
        key = fromParticipant;
      } else {
        const ssrc = readU32(packet, 8);
        let k = s.relayKeys.get(ssrc);
        if (k === undefined) {
          k = `ssrc:${ssrc}`;
          s.relayKeys.set(ssrc, k);
        }
        key = k;
      }
      if (isEvent) {
        s.mixer.onTelephoneEvent(key, fromParticipant, pts.telephoneEventRate[pt], packet);
        return;
      }
      if (codec === null) return;
      s.mixer.onRtp(key, fromParticipant, codec, pts.channels[pt] || 1, packet, now);
    } catch (err) {
      this.#log.error('mixer_rtp_failed', { session, error: String(err) });
    }
  }

  onAudioRtcp(session: string, fromParticipant: string, packet: Buffer): void {
    try {
      this.#sessions.get(session)?.mixer.onRtcp(fromParticipant, packet, monotonicMs());
    } catch (err) {
      this.#log.error('mixer_rtcp_failed', { session, error: String(err) });
    }
  }

  // internals ---------------------------------------------------------------

  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error('mixer_internal_error', { what, error: String(err) });
    }
  }

  #tick(dueMs: number): void {
    for (const s of this.#sessions.values()) {
      try {
        s.mixer.tick(dueMs);
      } catch (err) {
        this.#log.error('mixer_tick_failed', { session: s.mixer.name, error: String(err) });
      }
    }
  }

  #sendReports(): void {
    const now = monotonicMs();
    const wall = Date.now();
    for (const s of this.#sessions.values()) s.mixer.sendReports(now, wall, REPORT_INTERVAL_MS);
  }

  /** The output spec of a `mix` participant, or null when it should receive no mix now. */
  #outputSpec(p: ParticipantSnapshot): OutputSpec | null {
    const stream = p.streams.find((st) => st.medium === 'audio');
    if (stream === undefined || stream.sdpRtpPort === 0) return null;
    if (stream.direction !== 'sendrecv' && stream.direction !== 'recvonly') return null;
    const mappings = this.#core.participantCodecs(p.id, 'audio');
    if (mappings !== undefined) {
      for (const m of mappings) {
        const codec = findMixerCodec(m.name, m.clockRateHz);
        if (codec !== null) return { participantId: p.id, codec, payloadType: m.participantPt, ...telephoneEventFor(mappings, codec) };
      }
      return null;
    }
    // Without per-participant mappings (a core without participantCodecs): its codec names in
    // preference order, with the session's canonical PT.
    const session = this.#core.sessionCodecs(p.session, 'audio');
    for (const name of stream.codecs) {
      const bare = name.split('/')[0].toLowerCase();
      for (const c of session) {
        if (c.name.toLowerCase() !== bare) continue;
        const codec = findMixerCodec(c.name, c.clockRateHz);
        if (codec !== null) return { participantId: p.id, codec, payloadType: c.pt };
      }
    }
    return null;
  }

  #applyParticipant(p: ParticipantSnapshot): void {
    const spec = p.mode === 'mix' ? this.#outputSpec(p) : null;
    let s = this.#sessions.get(p.session);
    if (spec === null) {
      if (s !== undefined) {
        s.mixer.removeOutput(p.id);
        this.#dropSessionIfIdle(p.session, s);
      }
      return;
    }
    if (s === undefined) {
      s = {
        mixer: new MixerSession(p.session, {
          transport: { send: (id, rtcp, packet) => this.#core.sendTo(id, 'audio', rtcp, packet) },
          counters: this.#counters,
          drops: this.#drops,
          cname: `mixer@${this.#config.reflectorId}`,
        }),
        pts: new PtTable(),
        relayKeys: new Map(),
      };
      s.pts.rebuild(this.#core, p.session, monotonicMs());
      this.#sessions.set(p.session, s);
      this.#log.info('mixer_session_started', { session: p.session });
      if (!this.#clock.running) this.#clock.start();
    }
    const isNew = !s.mixer.hasOutput(p.id);
    s.mixer.setOutput(spec);
    if (isNew) {
      this.#log.info('mixer_output_added', {
        session: p.session,
        participant: p.id,
        codec: `${spec.codec.name}/${spec.codec.rtpClockRateHz}`,
        pt: spec.payloadType,
        ssrc: s.mixer.outputSsrc(p.id),
      });
    }
  }

  #dropSessionIfIdle(name: string, s: MixedSessionState): void {
    if (s.mixer.outputCount > 0) return;
    s.mixer.close();
    this.#sessions.delete(name);
    this.#log.info('mixer_session_stopped', { session: name });
    if (this.#sessions.size === 0) this.#clock.stop();
  }

  /** Reconciles outputs with the core: new or changed `mix` participants, leavers, idle inputs. */
  #refresh(): void {
    const now = monotonicMs();
    const seen = new Set<string>();
    for (const session of this.#core.snapshot()) {
      const s = this.#sessions.get(session.name);
      const hasMix = session.participants.some((p) => p.mode === 'mix');
      if (!hasMix && s === undefined) continue;
      if (s !== undefined) s.pts.rebuild(this.#core, session.name, now);
      for (const p of session.participants) {
        if (p.mode !== 'mix') continue;
        seen.add(p.id);
        this.#applyParticipant(p);
      }
    }
    for (const s of this.#sessions.values()) {
      s.mixer.expireInputs(now, INPUT_IDLE_MS);
      if (s.relayKeys.size > 1024) s.relayKeys.clear();
    }
    // Outputs whose participant disappeared without an event.
    for (const [name, s] of this.#sessions) {
      for (const id of s.mixer.outputIds()) if (!seen.has(id)) s.mixer.removeOutput(id);
      this.#dropSessionIfIdle(name, s);
    }
  }
}

/**
 * The telephone-event (RFC 4733) a mixed participant gets events in: the one at its output codec's
 * RTP clock rate, else at 8000 Hz, else its first; none when it negotiated no telephone-event.
 */
function telephoneEventFor(mappings: readonly CodecMapping[], codec: MixerCodec): { telephoneEventPt?: number; telephoneEventRateHz?: number } {
  const events = mappings.filter((m) => m.name.toLowerCase() === 'telephone-event' && m.clockRateHz > 0);
  const pick = events.find((e) => e.clockRateHz === codec.rtpClockRateHz) ?? events.find((e) => e.clockRateHz === 8000) ?? events[0];
  return pick === undefined ? {} : { telephoneEventPt: pick.participantPt, telephoneEventRateHz: pick.clockRateHz };
}
