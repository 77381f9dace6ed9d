/**
 * Call quality per participant and direction, from RTP and RTCP the core already sees.
 *
 * - `sent` (participant → reflector): measured by the reflector on the participant's audio RTP —
 *   loss from sequence numbers (RFC 3550 A.3: expected − received over the interval between two of
 *   its RTCP reports, clamped at 0) and interarrival jitter (RFC 3550 A.8, in ms).
 * - `received` (reflector → participant): what the participant reports in its RTCP: the report
 *   blocks of its SR/RR (RFC 3550 §6.4: fraction lost, interarrival jitter in its clock) — the
 *   worst block of a report when it reports on several sources — or, when it sends one, an RFC 3611
 *   XR VoIP Metrics block (loss rate, round-trip delay; preferred for loss).
 * - `rttMs`: round trip between the reflector and the participant: a report block whose LSR names
 *   an SR the reflector forwarded (or the mixer sent) to this session gives
 *   RTT = arrival − (when that SR left the reflector) − DLSR; else the XR round-trip delay.
 * - `mos`: an estimate after the ITU-T G.107 E-model, simplified (Cole & Rosenbluth, 2001):
 *   one-way delay d = rtt/2 + 2·jitter + 10 ms (codec and packetisation); Id = 0.024·d +
 *   0.11·(d − 177.3)·H(d − 177.3); Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl + Bpl) with Ie = 0 and
 *   Bpl = 25.1 (G.711 with packet-loss concealment, G.113 Appendix I) for every codec;
 *   R = 93.2 − Id − Ie,eff; MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R), 1 below R = 0 and 4.5
 *   above R = 100. Narrowband figures: good for comparing calls, not an absolute wideband score.
 *
 * Nothing here allocates per RTP packet; RTCP (a few per second per participant) may.
 */
import { RtcpCompoundReader, RtcpPacketType, RtcpPacketView } from '../rtp/rtcp-compound.js';
import { parseReceiverReport, RtcpReceiverReport, type ReportBlock } from '../rtp/rtcp-rr.js';
import { ntpMiddle32, parseSenderReport, RtcpSenderReport } from '../rtp/rtcp-sr.js';
import { readXrVoipMetrics, type XrVoip } from '../rtp/rtcp-xr.js';
import { RtpSeqState } from '../rtp/seq.js';
import type { CallQuality, CodecMapping, DirectionQuality, QualitySample } from './api.js';

const CODEC_DELAY_MS = 10;
const BPL = 25.1;

/** The simplified E-model (see the file comment): MOS from loss %, jitter and round-trip time (ms). */
export function estimateMos(lossPct: number, jitterMs: number, rttMs: number): number {
  const d = Math.max(0, rttMs) / 2 + 2 * Math.max(0, jitterMs) + CODEC_DELAY_MS;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ppl = Math.min(100, Math.max(0, lossPct));
  const ie = (95 * ppl) / (ppl + BPL);
  const r = 93.2 - id - ie;
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return Math.round((1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)) * 100) / 100;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** RTT assumed for the MOS of a direction while no RTT is known. */
const DEFAULT_RTT_MS = 0;

/** SRs that left the reflector towards a session's participants: LSR value → ms (bounded ring). */
export class SrLog {
  static readonly SIZE = 64;
  readonly #lsr = new Uint32Array(SrLog.SIZE);
  readonly #at = new Float64Array(SrLog.SIZE);
  #next = 0;

  note(lsr: number, atMs: number): void {
    this.#lsr[this.#next] = lsr;
    this.#at[this.#next] = atMs;
    this.#next = (this.#next + 1) % SrLog.SIZE;
  }

  sentAt(lsr: number): number | undefined {
    for (let i = 0; i < SrLog.SIZE; i++) if (this.#at[i] !== 0 && this.#lsr[i] === lsr) return this.#at[i];
    return undefined;
  }
}

/** The quality state of one participant's audio stream. */
export class StreamQuality {
  // Sent direction (its RTP).
  readonly #seq = new RtpSeqState();
  #seqStarted = false;
  /** RTP clock rate by payload type (0: unknown or telephone-event, no jitter sample). */
  #rates = new Uint32Array(128);
  #transit = 0;
  #haveTransit = false;
  #jitter = 0;
  #jitterRate = 8000;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #sent: DirectionQuality | undefined;
  // Received direction (its reports).
  #rxClockRate = 8000;
  #received: (DirectionQuality & { source: 'rr' | 'xr' }) | undefined;
  #rttMs: number | undefined;
  #updatedAt: number | undefined;

  /** The negotiated codecs (clock rates) of the stream. */
  setCodecs(codecs: readonly CodecMapping[]): void {
    const rates = new Uint32Array(128);
    for (const c of codecs) {
      if (c.name.toLowerCase() === 'telephone-event') continue;
      if (c.participantPt >= 0 && c.participantPt < 128) rates[c.participantPt] = c.clockRateHz;
      if (c.canonicalPt >= 0 && c.canonicalPt < 128 && rates[c.canonicalPt] === 0) rates[c.canonicalPt] = c.clockRateHz;
    }
    this.#rates = rates;
    const first = codecs.find((c) => c.name.toLowerCase() !== 'telephone-event');
    this.#rxClockRate = first !== undefined && first.clockRateHz > 0 ? first.clockRateHz : 8000;
  }

  /** One RTP packet from the participant (hot path: arithmetic only). */
  onRtp(seq: number, pt: number, timestamp: number, arrivalMs: number): void {
    if (!this.#seqStarted) {
      this.#seq.init(seq);
      this.#seq.probation = 0;
      this.#seq.received = 1;
      this.#seqStarted = true;
    } else {
      this.#seq.update(seq);
    }
    const rate = this.#rates[pt & 0x7f];
    if (rate === 0) return;
    // RFC 3550 A.8, with the arrival time in the packet's clock units.
    const transit = (arrivalMs * rate) / 1000 - timestamp;
    if (this.#haveTransit && rate === this.#jitterRate) {
      let d = transit - this.#transit;
      // Timestamps wrap mod 2^32.
      if (d > 0x80000000) d -= 0x100000000;
      else if (d < -0x80000000) d += 0x100000000;
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    } else if (rate !== this.#jitterRate) {
      this.#jitter = 0;
      this.#jitterRate = rate;
    }
    this.#transit = transit;
    this.#haveTransit = true;
  }

  /** Closes an interval of the sent direction (at each RTCP report of the participant). */
  #sampleSent(): DirectionQuality | undefined {
    if (!this.#seqStarted) return undefined;
    const expected = this.#seq.expected;
    const received = this.#seq.received;
    const de = expected - this.#expectedPrior;
    const dr = received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = received;
    if (de <= 0) return this.#sent;
    const lossPct = round1((Math.max(0, de - dr) * 100) / de);
    const jitterMs = round1((this.#jitter * 1000) / this.#jitterRate);
    this.#sent = { lossPct, jitterMs, mos: estimateMos(lossPct, jitterMs, this.#rttMs ?? DEFAULT_RTT_MS) };
    return this.#sent;
  }

  /** Takes the figures of one RTCP compound of the participant; returns the samples for the histograms. */
  onReport(blocks: readonly ReportBlock[], blockCount: number, xr: XrVoip | null, srs: SrLog | undefined, nowMs: number): QualitySample[] {
    let worstFraction = -1;
    let worstJitter = 0;
    let rtt: number | undefined;
    for (let i = 0; i < blockCount; i++) {
      const b = blocks[i];
      if (b.fractionLost > worstFraction) worstFraction = b.fractionLost;
      if (b.jitter > worstJitter) worstJitter = b.jitter;
      if (b.lastSr !== 0 && srs !== undefined) {
        const at = srs.sentAt(b.lastSr);
        if (at !== undefined) {
          const r = nowMs - at - (b.delaySinceLastSr * 1000) / 65536;
          if (r >= 0 && r < 60_000) rtt = rtt === undefined ? r : Math.min(rtt, r);
        }
      }
    }
    if (rtt === undefined && xr !== null && xr.roundTripMs > 0) rtt = xr.roundTripMs;
    if (rtt !== undefined) this.#rttMs = round1(rtt);
    const rttForMos = this.#rttMs ?? DEFAULT_RTT_MS;
    if (xr !== null) {
      const lossPct = round1((xr.lossRate * 100) / 256);
      const jitterMs = worstFraction >= 0 ? round1((worstJitter * 1000) / this.#rxClockRate) : (this.#received?.jitterMs ?? 0);
      this.#received = { lossPct, jitterMs, mos: estimateMos(lossPct, jitterMs, rttForMos), source: 'xr' };
    } else if (worstFraction >= 0) {
      const lossPct = round1((worstFraction * 100) / 256);
      const jitterMs = round1((worstJitter * 1000) / this.#rxClockRate);
      this.#received = { lossPct, jitterMs, mos: estimateMos(lossPct, jitterMs, rttForMos), source: 'rr' };
    }
    const samples: QualitySample[] = [];
    const sent = this.#sampleSent();
    if (sent !== undefined) samples.push({ direction: 'sent', ...sent, ...(rtt !== undefined && this.#rttMs !== undefined ? { rttMs: this.#rttMs } : {}) });
    if (this.#received !== undefined && (worstFraction >= 0 || xr !== null)) {
      const r = this.#received;
      samples.push({ direction: 'received', lossPct: r.lossPct, jitterMs: r.jitterMs, mos: r.mos, ...(rtt !== undefined && this.#rttMs !== undefined ? { rttMs: this.#rttMs } : {}) });
    }
    this.#updatedAt = Date.now();
    return samples;
  }

  snapshot(): CallQuality | undefined {
    if (this.#sent === undefined && this.#received === undefined && this.#rttMs === undefined) return undefined;
    return {
      ...(this.#sent !== undefined ? { sent: this.#sent } : {}),
      ...(this.#received !== undefined ? { received: this.#received } : {}),
      ...(this.#rttMs !== undefined ? { rttMs: this.#rttMs } : {}),
      ...(this.#updatedAt !== undefined ? { updatedAt: this.#updatedAt } : {}),
    };
  }
}

/** Report blocks read per RTCP datagram at most (a forged compound could carry thousands). */
const MAX_BLOCKS = 32;

/**
 * Reads a participant's RTCP compound for quality: report blocks of its SRs and RRs, the first XR
 * VoIP Metrics block, and the SRs it sends (noted in the session's SrLog as leaving now, since the
 * core forwards them at once). One instance, reused.
 */
export class QualityReader {
  readonly #reader = new RtcpCompoundReader();
  readonly #view = new RtcpPacketView();
  readonly #rr = new RtcpReceiverReport();
  readonly #sr = new RtcpSenderReport();
  readonly #blocks: ReportBlock[] = [];
  readonly #xr: XrVoip = { lossRate: 0, roundTripMs: 0 };

  read(buf: Buffer, quality: StreamQuality, srs: SrLog, nowMs: number): QualitySample[] {
    const blocks = this.#blocks;
    blocks.length = 0;
    let xr: XrVoip | null = null;
    const view = this.#view;
    this.#reader.reset(buf);
    for (let n = 0; n < 64 && this.#reader.next(view) === null; n++) {
      if (view.packetType === RtcpPacketType.RR && parseReceiverReport(buf, view, this.#rr) === null) {
        for (let i = 0; i < this.#rr.reportCount && blocks.length < MAX_BLOCKS; i++) blocks.push({ ...this.#rr.reports[i] });
      } else if (view.packetType === RtcpPacketType.SR && parseSenderReport(buf, view, this.#sr) === null) {
        srs.note(ntpMiddle32(this.#sr.ntpSec, this.#sr.ntpFrac), nowMs);
        for (let i = 0; i < this.#sr.reportCount && blocks.length < MAX_BLOCKS; i++) blocks.push({ ...this.#sr.reports[i] });
      } else if (view.packetType === RtcpPacketType.XR && xr === null) {
        xr = readXrVoipMetrics(buf, view.offset, view.length - view.padding, this.#xr);
      }
    }
    if (blocks.length === 0 && xr === null) return [];
    return quality.onReport(blocks, blocks.length, xr, srs, nowMs);
  }

  /** An SR the reflector itself sends (the mixer's) to a participant of the session. */
  noteOutgoing(buf: Buffer, srs: SrLog, nowMs: number): void {
    const view = this.#view;
    this.#reader.reset(buf);
    for (let n = 0; n < 8 && this.#reader.next(view) === null; n++) {
      if (view.packetType === RtcpPacketType.SR && parseSenderReport(buf, view, this.#sr) === null) {
        srs.note(ntpMiddle32(this.#sr.ntpSec, this.#sr.ntpFrac), nowMs);
      }
    }
  }
}
