/**
 * What the core reads in a participant's RTCP (SPEC §4, §5, §7): SDES CNAME
 * and NAME, BYE sources, and whether the datagram holds an RTCP APP `RFLX`
 * request for the reflector. Everything else passes through untouched — the
 * core forwards RTCP as a transport translator (RFC 3550 §7).
 *
 * One preallocated RtcpInspection is reused for every datagram.
 */
import { RtcpCompoundReader, RtcpPacketType, RtcpPacketView, type RtcpDrop } from '../rtp/rtcp-compound.js';
import { RFLX_NAME } from '../rtp/rflx-types.js';

/** RFC 3550 §6.6: at most 31 sources per BYE packet; a compound may carry several BYEs. */
export const MAX_BYE_SSRCS = 64;
const RTCP_HEADER_SIZE = 4;
const APP_NAME_OFFSET = 8;
const APP_MIN_SIZE = 12;
/** RFC 3550 §6.5: SDES item types. */
const SDES_CNAME = 1;
const SDES_NAME = 2;

export class RtcpInspection {
  /** null = walkable compound; else why it is malformed. */
  drop: RtcpDrop | null = null;
  /** Offset and length of the first RFLX APP packet; rflxLength 0 = none. */
  rflxOffset = 0;
  rflxLength = 0;
  /** SSRCs of BYE packets; the first byeCount are valid. */
  readonly byeSsrcs = new Uint32Array(MAX_BYE_SSRCS);
  byeCount = 0;
  /** Offset/length of the first chunk's CNAME and NAME item values; length -1 = absent. */
  cnameOffset = 0;
  cnameLength = -1;
  nameOffset = 0;
  nameLength = -1;
}

export class RtcpInspector {
  readonly #reader = new RtcpCompoundReader();
  readonly #view = new RtcpPacketView();

  /** Walks `buf` and fills `out`. Never throws, never allocates. */
  inspect(buf: Buffer, out: RtcpInspection): void {
    out.drop = null;
    out.rflxOffset = 0;
    out.rflxLength = 0;
    out.byeCount = 0;
    out.cnameLength = -1;
    out.nameLength = -1;
    const view = this.#view;
    this.#reader.reset(buf);
    let r: RtcpDrop | null | 'end';
    let guard = 0;
    while ((r = this.#reader.next(view)) === null && guard++ < 256) {
      switch (view.packetType) {
        case RtcpPacketType.APP:
          if (out.rflxLength === 0 && view.length >= APP_MIN_SIZE && readU32(buf, view.offset + APP_NAME_OFFSET) === RFLX_NAME) {
            out.rflxOffset = view.offset;
            out.rflxLength = view.length;
          }
          break;
        case RtcpPacketType.BYE:
          readBye(buf, view, out);
          break;
        case RtcpPacketType.SDES:
          if (out.cnameLength < 0 && out.nameLength < 0) readSdesFirstChunk(buf, view, out);
          break;
        default:
          break;
      }
    }
    out.drop = r === 'end' || r === null ? null : r;
  }
}

/** RFC 3550 §6.6: BYE = header, SC source identifiers, optional reason. */
function readBye(buf: Buffer, view: RtcpPacketView, out: RtcpInspection): void {
  const body = view.length - RTCP_HEADER_SIZE - view.padding;
  const n = Math.min(view.count, Math.floor(body / 4));
  for (let i = 0; i < n && out.byeCount < MAX_BYE_SSRCS; i++) {
    out.byeSsrcs[out.byeCount++] = readU32(buf, view.offset + RTCP_HEADER_SIZE + 4 * i);
  }
}

/**
 * RFC 3550 §6.5: SDES = header, chunks of (SSRC, items…, null, pad to 32 bits).
 * Only the first chunk is read (the sender's own); items are type u8, length u8, text.
 */
function readSdesFirstChunk(buf: Buffer, view: RtcpPacketView, out: RtcpInspection): void {
  if (view.count === 0) return;
  const end = view.offset + view.length - view.padding;
  let pos = view.offset + RTCP_HEADER_SIZE + 4;
  // At most 255 items can fit in one packet; the bound keeps the loop finite on any input.
  for (let i = 0; i < 256 && pos + 2 <= end; i++) {
    const type = buf[pos];
    if (type === 0) return;
    const len = buf[pos + 1];
    const value = pos + 2;
    if (value + len > end) return;
    if (type === SDES_CNAME && out.cnameLength < 0) {
      out.cnameOffset = value;
      out.cnameLength = len;
    } else if (type === SDES_NAME && out.nameLength < 0) {
      out.nameOffset = value;
      out.nameLength = len;
    }
    pos = value + len;
  }
}

function readU32(buf: Buffer, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}
