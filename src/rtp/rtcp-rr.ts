/**
 * RTCP receiver report and the report block it shares with SR (RFC 3550 §6.4.2, §6.4.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|    RC   |   PT=RR=201   |             length            | header
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     SSRC of packet sender                     |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                 SSRC_1 (SSRC of first source)                 | report
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ block
 *    | fraction lost |       cumulative number of packets lost       |   1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           extended highest sequence number received           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                      interarrival jitter                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         last SR (LSR)                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                   delay since last SR (DLSR)                  |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                  report block 2 ... RC                        |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                  profile-specific extensions                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { readU24, readU32, writeU24, writeU32 } from './big-endian.js';
import {
  RTCP_HEADER_SIZE,
  RTCP_MAX_COUNT,
  RtcpPacketType,
  type RtcpPacketView,
  rtcpBodyLength,
  fits,
  writeRtcpHeader,
} from './rtcp-compound.js';

/** RFC 3550 §6.4.1: 6 words per report block. */
export const RTCP_REPORT_BLOCK_SIZE = 24;
const RB_OFFSET_SSRC = 0;
const RB_OFFSET_FRACTION = 4;
const RB_OFFSET_LOST = 5;
const RB_OFFSET_HIGHEST_SEQ = 8;
const RB_OFFSET_JITTER = 12;
const RB_OFFSET_LSR = 16;
const RB_OFFSET_DLSR = 20;
const LOST_SIGN_BIT = 0x800000;
const LOST_MOD = 0x1000000;
export const RTCP_LOST_MAX = 0x7fffff;
export const RTCP_LOST_MIN = -0x800000;

const OFFSET_SSRC = 4;
const OFFSET_REPORTS = 8;

export const RtcpRrDrop = {
  WrongType: 'rtcp_rr_wrong_type',
  TooShort: 'rtcp_rr_too_short',
} as const;
export type RtcpRrDrop = (typeof RtcpRrDrop)[keyof typeof RtcpRrDrop];

/** The fields of one report block. */
export interface ReportBlock {
  ssrc: number;
  /** 8-bit fixed point, loss fraction × 256. */
  fractionLost: number;
  /** Signed 24-bit cumulative number of packets lost. */
  packetsLost: number;
  highestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export class RtcpReportBlock implements ReportBlock {
  ssrc = 0;
  fractionLost = 0;
  packetsLost = 0;
  highestSeq = 0;
  jitter = 0;
  lastSr = 0;
  delaySinceLastSr = 0;
}

/** 31 preallocated report blocks (RC is 5 bits). */
export function allocReportBlocks(): RtcpReportBlock[] {
  const a: RtcpReportBlock[] = [];
  for (let i = 0; i < RTCP_MAX_COUNT; i++) a.push(new RtcpReportBlock());
  return a;
}

/** Reads a report block at buf[offset] (24 bytes, caller checked). */
export function readReportBlock(buf: Buffer, offset: number, out: ReportBlock): void {
  out.ssrc = readU32(buf, offset + RB_OFFSET_SSRC);
  out.fractionLost = buf[offset + RB_OFFSET_FRACTION];
  const lost = readU24(buf, offset + RB_OFFSET_LOST);
  out.packetsLost = lost & LOST_SIGN_BIT ? lost - LOST_MOD : lost;
  out.highestSeq = readU32(buf, offset + RB_OFFSET_HIGHEST_SEQ);
  out.jitter = readU32(buf, offset + RB_OFFSET_JITTER);
  out.lastSr = readU32(buf, offset + RB_OFFSET_LSR);
  out.delaySinceLastSr = readU32(buf, offset + RB_OFFSET_DLSR);
}

/** Writes a report block at out[offset]; packetsLost is clamped to 24 bits. Returns 24, or 0 when `out` is too small. */
export function writeReportBlock(rb: ReportBlock, out: Uint8Array, offset: number): number {
  if (!fits(out, offset, RTCP_REPORT_BLOCK_SIZE)) return 0;
  writeU32(out, offset + RB_OFFSET_SSRC, rb.ssrc);
  out[offset + RB_OFFSET_FRACTION] = rb.fractionLost & 0xff;
  const lost = Math.max(RTCP_LOST_MIN, Math.min(RTCP_LOST_MAX, Math.trunc(rb.packetsLost)));
  writeU24(out, offset + RB_OFFSET_LOST, lost < 0 ? lost + LOST_MOD : lost);
  writeU32(out, offset + RB_OFFSET_HIGHEST_SEQ, rb.highestSeq);
  writeU32(out, offset + RB_OFFSET_JITTER, rb.jitter);
  writeU32(out, offset + RB_OFFSET_LSR, rb.lastSr);
  writeU32(out, offset + RB_OFFSET_DLSR, rb.delaySinceLastSr);
  return RTCP_REPORT_BLOCK_SIZE;
}

/** A decoded RR; preallocate and reuse. */
export class RtcpReceiverReport {
  ssrc = 0;
  reportCount = 0;
  /** The first reportCount entries are valid. */
  readonly reports: RtcpReportBlock[] = allocReportBlocks();
  /** Profile-specific extension after the report blocks (absolute offset, bytes). */
  extensionOffset = 0;
  extensionLength = 0;
}

/** Decodes the RR packet `view` of `buf` into `out` without allocating. */
export function parseReceiverReport(buf: Buffer, view: RtcpPacketView, out: RtcpReceiverReport): RtcpRrDrop | null {
  if (view.packetType !== RtcpPacketType.RR) return RtcpRrDrop.WrongType;
  const rc = view.count;
  const needed = OFFSET_REPORTS - RTCP_HEADER_SIZE + RTCP_REPORT_BLOCK_SIZE * rc;
  const body = rtcpBodyLength(view);
  if (body < needed || view.offset + view.length > buf.length) return RtcpRrDrop.TooShort;
  const o = view.offset;
  out.ssrc = readU32(buf, o + OFFSET_SSRC);
  out.reportCount = rc;
  for (let i = 0; i < rc; i++) readReportBlock(buf, o + OFFSET_REPORTS + RTCP_REPORT_BLOCK_SIZE * i, out.reports[i]);
  out.extensionOffset = o + RTCP_HEADER_SIZE + needed;
  out.extensionLength = body - needed;
  return null;
}

/** Input of the RR writer; `reportCount` (when set) limits `reports`. */
export interface ReceiverReportInit {
  ssrc: number;
  reports: readonly ReportBlock[];
  reportCount?: number;
}

/** The report blocks an SR or RR carries: reportCount (when set) limits reports; -1 above 31 or past the array. */
export function reportCountOf(r: { reports: readonly ReportBlock[]; reportCount?: number }): number {
  const n = r.reportCount ?? r.reports.length;
  return Number.isInteger(n) && n >= 0 && n <= RTCP_MAX_COUNT && n <= r.reports.length ? n : -1;
}

/** Bytes writeReceiverReport writes; 0 when it writes nothing (more than 31 report blocks). */
export function receiverReportSize(rr: ReceiverReportInit): number {
  const n = reportCountOf(rr);
  return n < 0 ? 0 : OFFSET_REPORTS + RTCP_REPORT_BLOCK_SIZE * n;
}

/** Writes an RR (no padding, no extension) at out[offset]; returns bytes written, 0 when `out` is too small or rr out of range. */
export function writeReceiverReport(rr: ReceiverReportInit, out: Uint8Array, offset: number): number {
  const size = receiverReportSize(rr);
  if (size === 0 || !fits(out, offset, size)) return 0;
  const n = reportCountOf(rr);
  writeRtcpHeader(out, offset, RtcpPacketType.RR, n, size);
  writeU32(out, offset + OFFSET_SSRC, rr.ssrc);
  for (let i = 0; i < n; i++) writeReportBlock(rr.reports[i], out, offset + OFFSET_REPORTS + RTCP_REPORT_BLOCK_SIZE * i);
  return size;
}

/** Allocates an RR; throws RangeError where writeReceiverReport returns 0. */
export function encodeReceiverReport(rr: ReceiverReportInit): Buffer {
  const out = Buffer.alloc(receiverReportSize(rr));
  if (writeReceiverReport(rr, out, 0) === 0) throw new RangeError('RR: at most 31 report blocks');
  return out;
}
