/**
 * The media path of the reflector core (SPEC §5): the hot path of every RTP/RTCP
 * datagram on a media port, and the two ways in from the hooks (sendTo from the
 * mixer and RFLX, injectRelayed from the interconnect).
 *
 * socket → validate into a reused object → source lookup (latch on a miss) →
 * session.targets[flow] → PacketSender.send(). Nothing here allocates, logs, or
 * creates closures, except a copy of the datagram when a recipient needs another
 * PT number (output-copies.ts), SRTP output, and copies for hooks that keep buffers.
 */
import type { RemoteInfo } from 'node:dgram';
import type { DropCounter } from '../runtime/drop-counter.js';
import { hasRtpFixedHeader, isVersion2, looksLikeStun, rtpPayloadType } from '../rtp/packet-class.js';
import { looksLikeRtcp } from '../rtp/rtcp-compound.js';
import { parseRtpHeader, RTP_FIXED_HEADER_SIZE, RtpHeader } from '../rtp/rtp-header.js';
import type { Medium } from './api.js';
import type { Attribution } from './attribution.js';
import { QualityReader, SrLog } from './call-quality.js';
import type { CoreState } from './core-state.js';
import { allowedDestination } from './destination.js';
import { ReflectorDrop } from './drop-reasons.js';
import { IceDrop } from './ice-agent.js';
import type { KeepalivePath } from './keepalive-path.js';
import { readSdes, type Latching } from './latching.js';
import {
  FLOW_AUDIO_RTCP,
  FLOW_AUDIO_RTP,
  flowIndex,
  flowIsRtcp,
  flowMedium,
  MEDIUM_AUDIO,
  mediumIndex,
  mediumOfIndex,
} from './media-kind.js';
import type { Membership } from './membership.js';
import type { PacketSender } from './packet-sender.js';
import type { ParticipantState, StreamState } from './participant.js';
import { NO_PT } from './pt-table.js';
import { OutputCopies } from './output-copies.js';
import { RtcpInspection, RtcpInspector } from './rtcp-inspector.js';
import type { SessionState, Target } from './session.js';
import { TelephoneEventConverter } from './telephone-event.js';

const RTCP_MIN_SIZE = 8;

export class MediaPath {
  readonly #st: CoreState;
  readonly #latching: Latching;
  readonly #membership: Membership;
  readonly #keepalivePath: KeepalivePath;
  // Readonly parts of the state, cached for the hot path.
  readonly #attr: Attribution;
  readonly #codecDrops: DropCounter;

  /** Telephone-event converted between clock rates, or withheld from recipients that did not negotiate it. */
  readonly telephoneEvents = new TelephoneEventConverter();
  /** Call quality: RTCP reader, and per session the SRs that left towards its participants (for RTT). */
  readonly #qualityReader = new QualityReader();
  readonly #srLogs = new WeakMap<SessionState, SrLog>();

  // Hot-path scratch, reused for every datagram.
  readonly #rtp = new RtpHeader();
  readonly #inspector = new RtcpInspector();
  readonly #rtcp = new RtcpInspection();
  /** The datagram's outputs: PT-rewritten copies, SRTP, stable copies for hooks. */
  readonly #out: OutputCopies;

  constructor(st: CoreState, latching: Latching, membership: Membership, keepalivePath: KeepalivePath) {
    this.#st = st;
    this.#latching = latching;
    this.#membership = membership;
    this.#keepalivePath = keepalivePath;
    this.#attr = st.attr;
    this.#codecDrops = st.codecDrops;
    this.#out = new OutputCopies(st.batch, st.codecDrops);
  }

  // ── Ways in from the hooks ───────────────────────────────────────────────

  sendTo(participantId: string, medium: Medium, rtcp: boolean, packet: Buffer): boolean {
    const p = this.#st.participants.get(participantId);
    if (p === undefined) return false;
    const s = p.streams[mediumIndex(medium)];
    if (s === null || (!rtcp && !s.receives)) return false;
    // rtcp-mux (RFC 5761): RTCP goes to the RTP destination, from the RTP port.
    const mux = rtcp && s.rtcpMux;
    const dest = allowedDestination(s, rtcp && !mux ? 1 : 0);
    if (dest === null) return false;
    const plain = packet;
    if (s.srtp !== null) {
      // The mixer's output and announcements to an SRTP participant are protected too.
      this.#out.next();
      const sec = this.#out.protect(s.srtp.outbound, packet, rtcp);
      if (sec === null) return false;
      packet = sec;
    }
    this.#st.senders[flowIndex(s.mediumIndex, rtcp && !mux)].send(packet, dest.port, dest.address);
    // The mixer's SRs: a report block naming one gives this participant's round-trip time.
    if (rtcp && s.mediumIndex === MEDIUM_AUDIO) this.#qualityReader.noteOutgoing(plain, this.#srLog(p.session), Date.now());
    const c = s.counters;
    if (rtcp) {
      c.rtcpPacketsOut++;
      c.rtcpBytesOut += packet.length;
    } else {
      c.rtpPacketsOut++;
      c.rtpBytesOut += packet.length;
    }
    return true;
  }

  injectRelayed(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    try {
      if (packet.length < (rtcp ? RTCP_MIN_SIZE : RTP_FIXED_HEADER_SIZE) || !isVersion2(packet)) {
        this.#st.drop(rtcp ? ReflectorDrop.MalformedRtcp : ReflectorDrop.MalformedRtp);
        return;
      }
      const s = this.#st.sessions.get(session);
      const flow = flowIndex(mediumIndex(medium), rtcp);
      if (s === undefined) return; // no local participants; the interconnect relays it on
      if (rtcp) this.#fanOutRtcp(s, flow, packet, null);
      else this.#fanOutRtp(s, flow, packet, null, null);
    } catch (err) {
      this.#st.internalError(err);
    }
  }

  // ── Datagram handlers (hot path) ─────────────────────────────────────────

  onMedia(flow: number, buf: Buffer, rinfo: RemoteInfo): void {
    try {
      // node:dgram: plain reflect by the fan-out table (batched: the addon did it before JS).
      const fan = this.#st.fan;
      if (fan !== null && fan.offer(flow, buf, rinfo)) return;
      // RFC 7983 §7: a first byte of 0–3 is STUN (ICE connectivity checks, SPEC §16).
      if (looksLikeStun(buf)) {
        this.#keepalivePath.onIceCheck(flow, buf, rinfo);
        return;
      }
      // RFC 5761 §4: RTCP multiplexed on the RTP port has a second byte of 192–223
      // (RTP payload types 64–95 are not used, so this never misreads RTP).
      const rtcp = flowIsRtcp(flow) || looksLikeRtcp(buf);
      // A defect found before attribution is final unless the source turns out to be an SRTP
      // stream (SPEC §15): SRTCP is encrypted after 8 bytes and SRTP's last byte is the tag,
      // so those are checked again after decryption.
      let early: string | null = null;
      if (!rtcp) {
        early = parseRtpHeader(buf, this.#rtp);
      } else {
        if (buf.length < RTCP_MIN_SIZE) {
          this.#st.drop(ReflectorDrop.MalformedRtcp);
          return;
        }
        this.#inspector.inspect(buf, this.#rtcp);
        early = this.#rtcp.drop;
      }
      let s = this.#attr.sources[flow].get(rinfo.address, rinfo.port);
      let fresh = false;
      if (s === undefined) {
        if (!this.#st.hosts.allowed(rinfo.address)) {
          this.#st.drop(ReflectorDrop.HostDenied);
          return;
        }
        if (this.#latching.isOwnSocket(rinfo.address, rinfo.port)) {
          this.#st.drop(ReflectorDrop.OwnSource);
          return;
        }
        const found = early !== null && !hasRtpFixedHeader(buf) ? null : this.#attr.resolve(flow, rinfo.address, rinfo.port, buf, rtcp);
        if (found === null) {
          if (early !== null) this.#codecDrops.add(early);
          else this.#st.drop(this.#attr.lastDrop);
          return;
        }
        // A nominated stream (ICE) moves only on another nominated check, never on media from elsewhere.
        if (found.iceNominated[flow & 1]) {
          this.#codecDrops.add(IceDrop.UnnominatedSource);
          return;
        }
        s = found;
        fresh = true;
      }
      const srtp = s.srtp;
      if (srtp !== null) {
        // Decrypt at the edge: everything after this point (fan-out, mixer, relay) sees plain RTP.
        const plain = rtcp ? srtp.inbound.unprotectRtcp(buf) : srtp.inbound.unprotectRtp(buf);
        if (plain === null) {
          this.#codecDrops.add(srtp.inbound.lastDrop);
          return;
        }
        buf = plain;
        if (!rtcp) early = parseRtpHeader(buf, this.#rtp);
        else {
          this.#inspector.inspect(buf, this.#rtcp);
          early = this.#rtcp.drop;
        }
      }
      if (early !== null) {
        this.#codecDrops.add(early);
        return;
      }
      // Latch only what passed validation (and, for SRTP, authentication).
      if (fresh) this.#latching.latch(s, flow, rinfo.address, rinfo.port);
      const p = s.participant;
      const now = Date.now();
      p.lastActivityAt = now;
      if (!rtcp) this.#onRtp(s, flow, buf);
      else this.#onRtcp(s, flow, buf, now);
    } catch (err) {
      this.#st.internalError(err);
    }
  }

  #onRtp(s: StreamState, flow: number, buf: Buffer): void {
    const c = s.counters;
    c.rtpPacketsIn++;
    c.rtpBytesIn += buf.length;
    if (!s.sends) {
      this.#st.drop(ReflectorDrop.NotSending);
      return;
    }
    if (s.mediumIndex === MEDIUM_AUDIO) s.quality.onRtp(this.#rtp.sequenceNumber, this.#rtp.payloadType, this.#rtp.timestamp, s.participant.lastActivityAt);
    const ssrc = this.#rtp.ssrc;
    if (ssrc !== s.lastSsrc) {
      s.lastSsrc = ssrc;
      this.#attr.learnSsrc(s, ssrc);
    }
    this.#fanOutRtp(s.participant.session, flow, buf, s.participant, s.inPt);
  }

  #onRtcp(s: StreamState, flow: number, buf: Buffer, now: number): void {
    const c = s.counters;
    c.rtcpPacketsIn++;
    c.rtcpBytesIn += buf.length;
    const p = s.participant;
    p.lastRtcpAt = now;
    const insp = this.#rtcp;
    if (insp.rflxLength > 0) {
      // SPEC §5/§7: an RFLX request is for the reflector. The whole datagram is consumed
      // (not forwarded), even when the compound holds other packets: clients send RFLX
      // as a bare APP packet, and a partial forward would need a rewritten compound.
      this.#st.rflxConsumed++;
      const h = this.#st.rflx;
      if (h !== null) {
        try {
          h.onParticipantRflx(p.id, p.session.name, this.#out.stable(buf.subarray(insp.rflxOffset, insp.rflxOffset + insp.rflxLength)));
        } catch (err) {
          this.#st.hookError('rflx', err);
        }
      }
      return;
    }
    if (insp.cnameLength >= 0 || insp.nameLength >= 0) readSdes(p, buf, insp);
    if (s.mediumIndex === MEDIUM_AUDIO) this.#readQuality(s, buf, now);
    this.#fanOutRtcp(p.session, flow, buf, p);
    if (insp.byeCount > 0) {
      for (let i = 0; i < insp.byeCount; i++) p.byeSsrcs.add(insp.byeSsrcs[i]);
      if (p.allSsrcsSaidBye()) this.#membership.leave(p.id, 'rtcp_bye');
    }
  }

  /**
   * Reflects one RTP datagram to the session's recipients of `flow`, with the
   * PT byte mapped per recipient; gives audio to the mixer and everything to
   * the relay (a local sender's only: `sender` null is relayed media, which the
   * interconnect relays on itself). `inPt` is the sender's inbound table, null for
   * relayed media (already canonical).
   */
  #fanOutRtp(
    session: SessionState,
    flow: number,
    buf: Buffer,
    sender: ParticipantState | null,
    inPt: Uint8Array | null,
  ): void {
    const pt = rtpPayloadType(buf);
    const canonical = inPt === null ? pt : inPt[pt];
    this.#out.next();
    const sock = this.#st.senders[flow];
    // RFC 4733: telephone-event goes to each recipient in its own telephone-event PT and rate
    // (telephone-event.ts); mixed participants get it from the mixer, in their mixed stream.
    const teRate = flow === FLOW_AUDIO_RTP && canonical !== NO_PT ? session.telephoneEventRate[canonical] : 0;
    this.#sendRtpTo(session.targets[flow], sock, buf, sender, canonical, teRate);
    if (flow === FLOW_AUDIO_RTP) {
      const mixer = this.#st.mixer;
      if (mixer !== null && session.mixCount > 0) {
        const cpt = canonical === NO_PT ? pt : canonical;
        try {
          mixer.onAudioRtp(session.name, sender === null ? null : sender.id, cpt, this.#out.withPt(buf, cpt));
        } catch (err) {
          this.#st.hookError('mixer', err);
        }
      }
    }
    if (sender !== null && this.#st.relay !== null) this.#relayForward(session.name, flow, canonical === NO_PT ? buf : this.#out.withPt(buf, canonical));
  }

  #sendRtpTo(
    targets: readonly Target[],
    sock: PacketSender,
    buf: Buffer,
    sender: ParticipantState | null,
    canonical: number,
    teRate: number,
  ): void {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t.participant === sender) continue;
      let out = buf;
      if (canonical !== NO_PT) {
        const outPt = t.outPt[canonical];
        if (outPt !== NO_PT || teRate === 0) {
          out = this.#out.withPt(buf, outPt);
        } else if (t.teRateHz === 0) {
          this.telephoneEvents.notNegotiated++;
          continue;
        } else {
          const converted = this.telephoneEvents.convert(this.#out.gen, buf, teRate, t.tePt, t.teRateHz);
          if (converted === null) continue;
          out = converted;
        }
      }
      if (t.srtp !== null) {
        const sec = this.#out.protect(t.srtp, out, false);
        if (sec === null) continue;
        out = sec;
      }
      sock.send(out, t.port, t.address);
      const c = t.counters;
      c.rtpPacketsOut++;
      c.rtpBytesOut += out.length;
    }
  }

  /**
   * RTCP is forwarded unchanged, as a transport translator does (RFC 3550 §7). `flow` is
   * where it arrived (an RTP flow for RTCP multiplexed on the RTP port, RFC 5761); it goes
   * to each local recipient as that recipient negotiated: rtcp-mux ones at their RTP address
   * from the RTP port, the others at their RTCP address from the RTCP port; and to the
   * mixer and peers as the medium's RTCP.
   */
  #fanOutRtcp(session: SessionState, flow: number, buf: Buffer, sender: ParticipantState | null): void {
    this.#out.next();
    const rtcpFlow = flow | 1;
    this.#sendRtcpTo(session.targets[rtcpFlow], this.#st.senders[rtcpFlow], buf, sender);
    const mux = session.muxRtcpTargets[flowMedium(flow)];
    if (mux.length > 0) this.#sendRtcpTo(mux, this.#st.senders[rtcpFlow - 1], buf, sender);
    if (rtcpFlow === FLOW_AUDIO_RTCP && sender !== null && session.mixCount > 0) {
      const mixer = this.#st.mixer;
      if (mixer !== null) {
        try {
          mixer.onAudioRtcp(session.name, sender.id, this.#out.stable(buf));
        } catch (err) {
          this.#st.hookError('mixer', err);
        }
      }
    }
    if (sender !== null && this.#st.relay !== null) this.#relayForward(session.name, rtcpFlow, buf);
  }

  #srLog(session: SessionState): SrLog {
    let log = this.#srLogs.get(session);
    if (log === undefined) {
      log = new SrLog();
      this.#srLogs.set(session, log);
    }
    return log;
  }

  /** Quality figures from a participant's audio RTCP (call-quality.ts); each sample goes to the metrics. */
  #readQuality(s: StreamState, buf: Buffer, now: number): void {
    const samples = this.#qualityReader.read(buf, s.quality, this.#srLog(s.participant.session), now);
    for (const sample of samples) this.#st.emit('call-quality', sample);
  }

  #sendRtcpTo(targets: readonly Target[], sock: PacketSender, buf: Buffer, sender: ParticipantState | null): void {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t.participant === sender) continue;
      // SRTCP for an SRTP recipient, with its own key (cached per datagram generation).
      const out = t.srtp === null ? buf : this.#out.protect(t.srtp, buf, true);
      if (out === null) continue;
      sock.send(out, t.port, t.address);
      const c = t.counters;
      c.rtcpPacketsOut++;
      c.rtcpBytesOut += out.length;
    }
  }

  #relayForward(session: string, flow: number, buf: Buffer): void {
    const relay = this.#st.relay;
    if (relay === null) return;
    try {
      relay.forward(session, mediumOfIndex(flowMedium(flow)), flowIsRtcp(flow), this.#out.stable(buf));
    } catch (err) {
      this.#st.hookError('relay', err);
    }
  }
}
