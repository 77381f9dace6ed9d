/**
 * RTCP sender report (RFC 3550 §6.4.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|    RC   |   PT=SR=200   |             length            | header
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         SSRC of sender                        |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |              NTP timestamp, most significant word             | sender
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ info
 *    |             NTP timestamp, least significant word             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         RTP timestamp                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     sender's packet count                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                      sender's octet count                     |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                 report blocks 1 ... RC (rtcp-rr.ts)           |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                  profile-specific extensions                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { readU32, writeU32 } from './big-endian.js';
import { RTCP_HEADER_SIZE, RtcpPacketType, type RtcpPacketView, fits, rtcpBodyLength, writeRtcpHeader } from './rtcp-compound.js';
import {
  RTCP_REPORT_BLOCK_SIZE,
  type ReportBlock,
  type RtcpReportBlock,
  allocReportBlocks,
  readReportBlock,
  reportCountOf,
  writeReportBlock,
} from './rtcp-rr.js';

const OFFSET_SSRC = 4;
const OFFSET_NTP_SEC = 8;
const OFFSET_NTP_FRAC = 12;
const OFFSET_RTP_TS = 16;
const OFFSET_PACKET_COUNT = 20;
const OFFSET_OCTET_COUNT = 24;
const OFFSET_REPORTS = 28;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_SEC = 2208988800;

export const RtcpSrDrop = {
  WrongType: 'rtcp_sr_wrong_type',
  TooShort: 'rtcp_sr_too_short',
} as const;
export type RtcpSrDrop = (typeof RtcpSrDrop)[keyof typeof RtcpSrDrop];

export interface SenderInfo {
  ssrc: number;
  /** NTP timestamp, seconds since 1900 (most significant word). */
  ntpSec: number;
  /** NTP timestamp, fraction of a second × 2^32 (least significant word). */
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

/** A decoded SR; preallocate and reuse. */
export class RtcpSenderReport implements SenderInfo {
  ssrc = 0;
  ntpSec = 0;
  ntpFrac = 0;
  rtpTimestamp = 0;
  packetCount = 0;
  octetCount = 0;
  reportCount = 0;
  /** The first reportCount entries are valid. */
  readonly reports: RtcpReportBlock[] = allocReportBlocks();
  extensionOffset = 0;
  extensionLength = 0;
}

/** Decodes the SR packet `view` of `buf` into `out` without allocating. */
export function parseSenderReport(buf: Buffer, view: RtcpPacketView, out: RtcpSenderReport): RtcpSrDrop | null {
  if (view.packetType !== RtcpPacketType.SR) return RtcpSrDrop.WrongType;
  const rc = view.count;
  const needed = OFFSET_REPORTS - RTCP_HEADER_SIZE + RTCP_REPORT_BLOCK_SIZE * rc;
  const body = rtcpBodyLength(view);
  if (body < needed || view.offset + view.length > buf.length) return RtcpSrDrop.TooShort;
  const o = view.offset;
  out.ssrc = readU32(buf, o + OFFSET_SSRC);
  out.ntpSec = readU32(buf, o + OFFSET_NTP_SEC);
  out.ntpFrac = readU32(buf, o + OFFSET_NTP_FRAC);
  out.rtpTimestamp = readU32(buf, o + OFFSET_RTP_TS);
  out.packetCount = readU32(buf, o + OFFSET_PACKET_COUNT);
  out.octetCount = readU32(buf, o + OFFSET_OCTET_COUNT);
  out.reportCount = rc;
  for (let i = 0; i < rc; i++) readReportBlock(buf, o + OFFSET_REPORTS + RTCP_REPORT_BLOCK_SIZE * i, out.reports[i]);
  out.extensionOffset = o + RTCP_HEADER_SIZE + needed;
  out.extensionLength = body - needed;
  return null;
}

/** Input of the SR writer; `reportCount` (when set) limits `reports`. */
export interface SenderReportInit extends SenderInfo {
  reports: readonly ReportBlock[];
  reportCount?: number;
}

/** Bytes writeSenderReport writes; 0 when it writes nothing (more than 31 report blocks). */
export function senderReportSize(sr: SenderReportInit): number {
  const n = reportCountOf(sr);
  return n < 0 ? 0 : OFFSET_REPORTS + RTCP_REPORT_BLOCK_SIZE * n;
}

/** Writes an SR (no padding, no extension) at out[offset]; returns bytes written, 0 when `out` is too small or sr out of range. */
export function writeSenderReport(sr: SenderReportInit, out: Uint8Array, offset: number): number {
  const size = senderReportSize(sr);
  if (size === 0 || !fits(out, offset, size)) return 0;
  const n = reportCountOf(sr);
  writeRtcpHeader(out, offset, RtcpPacketType.SR, n, size);
  writeU32(out, offset + OFFSET_SSRC, sr.ssrc);
  writeU32(out, offset + OFFSET_NTP_SEC, sr.ntpSec);
  writeU32(out, offset + OFFSET_NTP_FRAC, sr.ntpFrac);
  writeU32(out, offset + OFFSET_RTP_TS, sr.rtpTimestamp);
  writeU32(out, offset + OFFSET_PACKET_COUNT, sr.packetCount);
  writeU32(out, offset + OFFSET_OCTET_COUNT, sr.octetCount);
  for (let i = 0; i < n; i++) writeReportBlock(sr.reports[i], out, offset + OFFSET_REPORTS + RTCP_REPORT_BLOCK_SIZE * i);
  return size;
}

/** Allocates an SR; throws RangeError where writeSenderReport returns 0. */
export function encodeSenderReport(sr: SenderReportInit): Buffer {
  const out = Buffer.alloc(senderReportSize(sr));
  if (writeSenderReport(sr, out, 0) === 0) throw new RangeError('SR: at most 31 report blocks');
  return out;
}

/** Converts a Unix time in ms to the two NTP words. */
export function ntpFromUnixMs(ms: number): { ntpSec: number; ntpFrac: number } {
  const sec = Math.floor(ms / 1000);
  return {
    ntpSec: (sec + NTP_UNIX_OFFSET_SEC) >>> 0,
    ntpFrac: Math.floor(((ms - sec * 1000) / 1000) * 0x100000000) >>> 0,
  };
}

/** The middle 32 bits of an NTP timestamp: the LSR value of a report block (RFC 3550 §6.4.1). */
export function ntpMiddle32(ntpSec: number, ntpFrac: number): number {
  return (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
}
