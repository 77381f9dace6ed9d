/**
 * RTCP source description (RFC 3550 §6.5).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|    SC   |  PT=SDES=202  |             length            | header
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                          SSRC/CSRC_1                          | chunk
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   1
 *    |                           SDES items                          |
 *    |                              ...                              |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |                          SSRC/CSRC_2                          | chunk
 *    |                              ...                              |   2
 *
 *    item:  |  type (1-8)   |     length    | text (length octets) ...
 *
 * Each chunk starts on a 32-bit boundary; its item list ends with a null
 * octet (END, type 0) followed by null octets up to the next 32-bit boundary.
 */
import { readU32, writeU32 } from './big-endian.js';
import { RTCP_HEADER_SIZE, RTCP_MAX_COUNT, RtcpPacketType, type RtcpPacketView, fits, writeRtcpHeader } from './rtcp-compound.js';

/** RFC 3550 §6.5 item types. */
export const SdesType = {
  END: 0,
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8,
} as const;

const SSRC_SIZE = 4;
const ITEM_HEADER_SIZE = 2;
const WORD = 4;
/** The item length is one octet. */
export const SDES_MAX_TEXT = 255;

export const RtcpSdesDrop = {
  WrongType: 'rtcp_sdes_wrong_type',
  ChunkOverrun: 'rtcp_sdes_chunk_overrun',
  ItemOverrun: 'rtcp_sdes_item_overrun',
  MissingEnd: 'rtcp_sdes_missing_end',
} as const;
export type RtcpSdesDrop = (typeof RtcpSdesDrop)[keyof typeof RtcpSdesDrop];

/** One SDES item: the chunk's SSRC, the item type, and where its text is. Preallocate and reuse. */
export class SdesItemView {
  ssrc = 0;
  type = 0;
  /** Absolute offset of the text. */
  offset = 0;
  length = 0;
}

/**
 * Non-allocating walker over the items of one SDES packet:
 * reset(buf, view) then next(item) until 'end' or a drop reason.
 */
export class SdesReader {
  #buf: Uint8Array = EMPTY;
  #base = 0;
  #pos = 0;
  #end = 0;
  #chunksLeft = 0;
  #inChunk = false;
  #ssrc = 0;
  #failed: RtcpSdesDrop | null = null;

  reset(buf: Uint8Array, view: RtcpPacketView): this {
    this.#buf = buf;
    this.#base = view.offset;
    this.#pos = view.offset + RTCP_HEADER_SIZE;
    this.#end = Math.min(buf.length, view.offset + view.length - view.padding);
    this.#chunksLeft = view.count;
    this.#inChunk = false;
    this.#failed = view.packetType === RtcpPacketType.SDES ? null : RtcpSdesDrop.WrongType;
    return this;
  }

  next(item: SdesItemView): RtcpSdesDrop | null | 'end' {
    if (this.#failed !== null) {
      const f = this.#failed;
      this.#failed = null;
      this.#chunksLeft = 0;
      this.#inChunk = false;
      return f;
    }
    const buf = this.#buf;
    const end = this.#end;
    // Bounded: every iteration consumes at least one octet or one chunk.
    for (;;) {
      if (!this.#inChunk) {
        if (this.#chunksLeft === 0) return 'end';
        if (this.#pos + SSRC_SIZE > end) return this.#fail(RtcpSdesDrop.ChunkOverrun);
        this.#ssrc = readU32(buf, this.#pos);
        this.#pos += SSRC_SIZE;
        this.#chunksLeft--;
        this.#inChunk = true;
      }
      const pos = this.#pos;
      if (pos >= end) return this.#fail(RtcpSdesDrop.MissingEnd);
      const type = buf[pos];
      if (type === SdesType.END) {
        // Skip END and the null octets up to the next 32-bit boundary of the packet.
        const next = this.#base + Math.ceil((pos + 1 - this.#base) / WORD) * WORD;
        if (next > end) return this.#fail(RtcpSdesDrop.MissingEnd);
        this.#pos = next;
        this.#inChunk = false;
        continue;
      }
      if (pos + ITEM_HEADER_SIZE > end) return this.#fail(RtcpSdesDrop.ItemOverrun);
      const length = buf[pos + 1];
      if (pos + ITEM_HEADER_SIZE + length > end) return this.#fail(RtcpSdesDrop.ItemOverrun);
      item.ssrc = this.#ssrc;
      item.type = type;
      item.offset = pos + ITEM_HEADER_SIZE;
      item.length = length;
      this.#pos = pos + ITEM_HEADER_SIZE + length;
      return null;
    }
  }

  #fail(reason: RtcpSdesDrop): RtcpSdesDrop {
    this.#chunksLeft = 0;
    this.#inChunk = false;
    this.#pos = this.#end;
    return reason;
  }
}

const EMPTY = new Uint8Array(0);
const sharedReader = new SdesReader();
const sharedItem = new SdesItemView();

/** Checks every chunk and item of an SDES packet without allocating. */
export function validateSdes(buf: Uint8Array, view: RtcpPacketView): RtcpSdesDrop | null {
  sharedReader.reset(buf, view);
  let r: RtcpSdesDrop | null | 'end';
  while ((r = sharedReader.next(sharedItem)) === null) {
    // walk
  }
  return r === 'end' ? null : r;
}

/**
 * Fills `out` with the first item of `type` (optionally of one SSRC) in a
 * well-formed SDES packet; false when there is none or the packet is malformed.
 */
export function findSdesItem(buf: Uint8Array, view: RtcpPacketView, type: number, out: SdesItemView, ssrc = -1): boolean {
  if (validateSdes(buf, view) !== null) return false;
  sharedReader.reset(buf, view);
  while (sharedReader.next(out) === null) {
    if (out.type === type && (ssrc < 0 || out.ssrc === ssrc)) return true;
  }
  return false;
}

/** The item's text as a string (the one allocation). Invalid UTF-8 becomes U+FFFD. */
export function readSdesText(buf: Uint8Array, item: SdesItemView): string {
  return Buffer.from(buf.buffer, buf.byteOffset + item.offset, item.length).toString('utf8');
}

/** The first CNAME of the packet, or null. Allocates only the returned string. */
export function readSdesCname(buf: Uint8Array, view: RtcpPacketView, ssrc = -1): string | null {
  return findSdesItem(buf, view, SdesType.CNAME, sharedItem, ssrc) ? readSdesText(buf, sharedItem) : null;
}

/** The first NAME of the packet, or null. Allocates only the returned string. */
export function readSdesName(buf: Uint8Array, view: RtcpPacketView, ssrc = -1): string | null {
  return findSdesItem(buf, view, SdesType.NAME, sharedItem, ssrc) ? readSdesText(buf, sharedItem) : null;
}

export interface SdesItemInit {
  type: number;
  /** Truncated to 255 octets (on a UTF-8 character boundary for strings). */
  text: string | Uint8Array;
}

export interface SdesChunkInit {
  ssrc: number;
  items: readonly SdesItemInit[];
}

function itemBytes(text: string | Uint8Array): Uint8Array {
  if (typeof text !== 'string') return text.subarray(0, SDES_MAX_TEXT);
  const b = Buffer.from(text, 'utf8');
  if (b.length <= SDES_MAX_TEXT) return b;
  let n = SDES_MAX_TEXT;
  // Back up over UTF-8 continuation octets so the cut falls between characters.
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
  return b.subarray(0, n);
}

function chunkSize(c: SdesChunkInit): number {
  let n = SSRC_SIZE;
  for (const it of c.items) n += ITEM_HEADER_SIZE + itemBytes(it.text).length;
  // END octet, then pad to a word.
  return Math.ceil((n + 1) / WORD) * WORD;
}

/** Bytes writeSdes writes; 0 when it writes nothing (more than 31 chunks). */
export function sdesSize(chunks: readonly SdesChunkInit[]): number {
  if (chunks.length > RTCP_MAX_COUNT) return 0;
  let n = RTCP_HEADER_SIZE;
  for (const c of chunks) n += chunkSize(c);
  return n;
}

/** Writes an SDES packet at out[offset]; returns bytes written, 0 when `out` is too small or there are more than 31 chunks. */
export function writeSdes(chunks: readonly SdesChunkInit[], out: Uint8Array, offset: number): number {
  const size = sdesSize(chunks);
  if (size === 0 || !fits(out, offset, size)) return 0;
  writeRtcpHeader(out, offset, RtcpPacketType.SDES, chunks.length, size);
  let pos = offset + RTCP_HEADER_SIZE;
  for (const c of chunks) {
    const start = pos;
    writeU32(out, pos, c.ssrc);
    pos += SSRC_SIZE;
    for (const it of c.items) {
      const text = itemBytes(it.text);
      out[pos] = it.type & 0xff;
      out[pos + 1] = text.length;
      out.set(text, pos + ITEM_HEADER_SIZE);
      pos += ITEM_HEADER_SIZE + text.length;
    }
    const next = start + chunkSize(c);
    out.fill(0, pos, next);
    pos = next;
  }
  return size;
}

/** Allocates an SDES packet; throws RangeError where writeSdes returns 0. */
export function encodeSdes(chunks: readonly SdesChunkInit[]): Buffer {
  const out = Buffer.alloc(sdesSize(chunks));
  if (writeSdes(chunks, out, 0) === 0) throw new RangeError('SDES: at most 31 chunks');
  return out;
}
