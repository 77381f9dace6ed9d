/**
 * What the core reads in a participant's RTCP (SPEC §4, §5, §7): SDES CNAME
 * and NAME, BYE sources, and whether the datagram holds an RTCP APP `RFLX`
 * request for the reflector. Everything else passes through untouched — the
 * core forwards RTCP as a transport translator (RFC 3550 §7). The wire
 * decoding is src/rtp's; this file only decides what the core keeps.
 *
 * One preallocated RtcpInspection is reused for every datagram.
 */
import { parseApp, RtcpApp } from '../rtp/rtcp-app.js';
import { parseBye, RtcpBye } from '../rtp/rtcp-bye.js';
import { RtcpCompoundReader, RtcpPacketType, RtcpPacketView, type RtcpDrop } from '../rtp/rtcp-compound.js';
import { SdesItemView, SdesReader, SdesType } from '../rtp/rtcp-sdes.js';
import { RFLX_NAME } from '../rtp/rflx-types.js';

/** BYE sources remembered per datagram (a BYE packet has at most 31; a compound may hold several). */
export const MAX_BYE_SSRCS = 64;
/** Packets walked per compound at most (a 64 KiB datagram holds at most 16384 4-byte packets). */
const MAX_PACKETS_PER_COMPOUND = 16384;

export class RtcpInspection {
  /** null = a well-formed compound; else why it is malformed (the datagram is dropped). */
  drop: RtcpDrop | null = null;
  /** Offset and length of the first RFLX APP packet; rflxLength 0 = none. */
  rflxOffset = 0;
  rflxLength = 0;
  /** SSRCs of BYE packets; the first byeCount are valid. */
  readonly byeSsrcs = new Uint32Array(MAX_BYE_SSRCS);
  byeCount = 0;
  /** Offset/length of the first CNAME and NAME item texts; length -1 = absent. */
  cnameOffset = 0;
  cnameLength = -1;
  nameOffset = 0;
  nameLength = -1;
}

export class RtcpInspector {
  readonly #reader = new RtcpCompoundReader();
  readonly #view = new RtcpPacketView();
  readonly #app = new RtcpApp();
  readonly #bye = new RtcpBye();
  readonly #sdes = new SdesReader();
  readonly #item = new SdesItemView();

  /** Walks `buf` and fills `out`. Never throws on any input, never allocates. */
  inspect(buf: Buffer, out: RtcpInspection): void {
    out.drop = null;
    out.rflxOffset = 0;
    out.rflxLength = 0;
    out.byeCount = 0;
    out.cnameLength = -1;
    out.nameLength = -1;
    const view = this.#view;
    this.#reader.reset(buf);
    let r: RtcpDrop | null | 'end' = 'end';
    for (let i = 0; i < MAX_PACKETS_PER_COMPOUND; i++) {
      r = this.#reader.next(view);
      if (r !== null) break;
      switch (view.packetType) {
        case RtcpPacketType.APP:
          if (out.rflxLength === 0 && parseApp(buf, view, this.#app) === null && this.#app.name === RFLX_NAME) {
            out.rflxOffset = view.offset;
            out.rflxLength = view.length;
          }
          break;
        case RtcpPacketType.BYE:
          if (parseBye(buf, view, this.#bye) === null) {
            const bye = this.#bye;
            for (let k = 0; k < bye.count && out.byeCount < MAX_BYE_SSRCS; k++) out.byeSsrcs[out.byeCount++] = bye.ssrcs[k];
          }
          break;
        case RtcpPacketType.SDES:
          if (out.cnameLength < 0 || out.nameLength < 0) this.#readSdes(buf, view, out);
          break;
        default:
          break;
      }
    }
    out.drop = r === 'end' || r === null ? null : r;
  }

  /** The first CNAME and NAME of the packet (usually the sender's own chunk). */
  #readSdes(buf: Buffer, view: RtcpPacketView, out: RtcpInspection): void {
    const item = this.#item;
    this.#sdes.reset(buf, view);
    // Each next() consumes at least one octet: bounded by the packet length.
    for (let i = 0; i < view.length; i++) {
      if (this.#sdes.next(item) !== null) return;
      if (item.type === SdesType.CNAME && out.cnameLength < 0) {
        out.cnameOffset = item.offset;
        out.cnameLength = item.length;
      } else if (item.type === SdesType.NAME && out.nameLength < 0) {
        out.nameOffset = item.offset;
        out.nameLength = item.length;
      }
    }
  }
}
