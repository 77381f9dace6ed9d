/**
 * Media side of the conference client: PCMU (G.711 µ-law) at 20 ms from a
 * generated tone or a WAV file (S16LE mono 8 kHz), RTCP SR + SDES every
 * second, and per-SSRC receive statistics with optional WAV recordings.
 */
import { encodePcmuSample, PCMU_DECODE } from '../../src/mixer/g711.js';
import { seqAdd, tsAdd } from '../../src/rtp/seq.js';
import { keyToInline, parseKeyParams } from '../../src/sip/uas/sdp-crypto.js';
import { SrtpInbound, SrtpOutbound } from '../../src/srtp/srtp-context.js';
import { SRTP_SUITES, type SrtpKey } from '../../src/srtp/srtp-keys.js';
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';

const SAMPLES_PER_PACKET = 160; // 20 ms at 8 kHz
const MAX_RECORDED_SAMPLES = 8000 * 120; // 2 minutes per SSRC

/** Reads the samples of a WAV file: PCM S16LE, mono (other layouts are rejected). */
export function readWavS16Mono(path: string): { rateHz: number; samples: Int16Array } {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let off = 12;
  let rateHz = 0;
  let fmtOk = false;
  for (let guard = 0; off + 8 <= buf.length && guard < 64; guard++) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      const format = buf.readUInt16LE(body);
      const channels = buf.readUInt16LE(body + 2);
      rateHz = buf.readUInt32LE(body + 4);
      const bits = buf.readUInt16LE(body + 14);
      fmtOk = (format === 1 || format === 0xfffe) && channels === 1 && bits === 16;
    } else if (id === 'data') {
      if (!fmtOk) throw new Error(`${path}: need PCM S16LE mono`);
      const n = Math.floor(Math.min(size, buf.length - body) / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + 2 * i);
      return { rateHz, samples };
    }
    off = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

export function writeWavS16Mono(path: string, rateHz: number, samples: Int16Array): void {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i] ?? 0, 2 * i);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii'); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii'); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rateHz, 24); h.writeUInt32LE(rateHz * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii'); h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

export interface SsrcStats {
  ssrc: number;
  packets: number;
  bytes: number;
  payloadType: number;
  rtcpPackets: number;
  /** RTP packets whose sequence number was already received (within the last 32768). */
  duplicates: number;
  cname?: string;
}

export interface MediaOptions {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly remoteRtpPort: number;
  /** Tone frequency (Hz) or a WAV file; neither: silence is not sent (receive only). */
  readonly toneHz?: number;
  readonly wavPath?: string;
  readonly cname: string;
  readonly record?: boolean;
  /** RTP payload type to send PCMU with (the answer's number). */
  readonly payloadType?: number;
  /** SRTP (RFC 3711): our own key; the peer's comes from the answer (setSrtpRemote). */
  readonly srtpLocal?: SrtpKey;
  /**
   * A video stream instead: VIDEO_PAYLOAD_BYTES of a test pattern as VP8 (PT 96, 90 kHz) every
   * VIDEO_FRAME_MS — a stand-in for an encoder, which this tool does not have; the reflector only
   * forwards video, so the bytes need not decode.
   */
  readonly video?: boolean;
}

export const VIDEO_PAYLOAD_TYPE = 96;
const VIDEO_PAYLOAD_BYTES = 1000;
const VIDEO_FRAME_MS = 40;

export class MediaEndpoint {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  readonly #o: MediaOptions;
  #rtp: dgram.Socket | null = null;
  #rtcp: dgram.Socket | null = null;
  #seq = randomBytes(2).readUInt16BE(0);
  #ts = randomBytes(4).readUInt32BE(0);
  #sent = 0;
  #sentBytes = 0;
  #pos = 0;
  #source: Int16Array | null = null;
  #timer: NodeJS.Timeout | null = null;
  #rtcpTimer: NodeJS.Timeout | null = null;
  readonly received = new Map<number, SsrcStats>();
  /** Per SSRC: one bit per RTP sequence number seen (a sliding half: seq + 32768 is cleared). */
  readonly #seen = new Map<number, Uint8Array>();
  readonly #recordings = new Map<number, { samples: Int16Array; length: number }>();
  #remoteRtpPort: number;
  #remoteAddress: string;
  readonly #srtpOut: SrtpOutbound | null;
  #srtpIn: SrtpInbound | null = null;
  /** SRTP/SRTCP packets that failed authentication or replay checks, by reason. */
  readonly srtpDrops = new Map<string, number>();

  constructor(o: MediaOptions) {
    this.#o = o;
    this.#remoteRtpPort = o.remoteRtpPort;
    this.#remoteAddress = o.remoteAddress;
    this.#srtpOut = o.srtpLocal !== undefined ? new SrtpOutbound(o.srtpLocal) : null;
    if (o.wavPath !== undefined) {
      const w = readWavS16Mono(o.wavPath);
      if (w.rateHz !== 8000) throw new Error(`${o.wavPath}: need 8000 Hz, got ${w.rateHz}`);
      this.#source = w.samples;
    } else if (o.toneHz !== undefined) {
      const s = new Int16Array(8000);
      for (let i = 0; i < s.length; i++) s[i] = Math.round(12000 * Math.sin((2 * Math.PI * o.toneHz * i) / 8000));
      this.#source = s;
    }
  }

  /** Binds RTP on a random even port and RTCP on port+1 (a bounded number of attempts). */
  async bind(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = 20000 + 2 * randomInt(10000);
      const rtp = dgram.createSocket('udp4');
      const rtcp = dgram.createSocket('udp4');
      rtp.on('error', () => undefined);
      rtcp.on('error', () => undefined);
      try {
        await bindUdp(rtp, port, this.#o.localAddress);
      } catch {
        await Promise.all([closeUdp(rtp), closeUdp(rtcp)]);
        continue;
      }
      try {
        await bindUdp(rtcp, port + 1, this.#o.localAddress);
      } catch {
        await Promise.all([closeUdp(rtp), closeUdp(rtcp)]);
        continue;
      }
      rtp.on('message', (b) => { this.#onRtp(b); });
      rtcp.on('message', (b) => { this.#onRtcp(b); });
      this.#rtp = rtp;
      this.#rtcp = rtcp;
      return port;
    }
    throw new Error('could not bind RTP/RTCP ports');
  }

  get rtpPort(): number { return this.#rtp?.address().port ?? 0; }

  /**
   * The bound RTCP socket (RTP port + 1), or null before bind()/after close().
   * RFLX requests (SPEC §7) must go out from it: the reflector attributes them
   * to the participant by their source address.
   */
  get rtcpSocket(): dgram.Socket | null { return this.#rtcp; }

  /** The peer's SRTP key (from the SDP answer): incoming media is authenticated and decrypted with it. */
  setSrtpRemote(key: SrtpKey): void {
    this.#srtpIn = new SrtpInbound(key);
  }

  get srtp(): boolean { return this.#srtpOut !== null; }

  #protect(pkt: Buffer, rtcp: boolean): Buffer | null {
    const o = this.#srtpOut;
    if (o === null) return pkt;
    return rtcp ? o.protectRtcp(pkt) : o.protectRtp(pkt);
  }

  #unprotect(b: Buffer, rtcp: boolean): Buffer | null {
    if (this.#srtpOut === null) return b;
    const i = this.#srtpIn;
    const plain = i === null ? null : rtcp ? i.unprotectRtcp(b) : i.unprotectRtp(b);
    if (plain === null) {
      const reason = i === null ? 'srtp_no_key' : i.lastDrop;
      this.srtpDrops.set(reason, (this.srtpDrops.get(reason) ?? 0) + 1);
    }
    return plain;
  }

  setRemote(address: string, rtpPort: number): void {
    this.#remoteAddress = address;
    this.#remoteRtpPort = rtpPort;
  }

  start(): void {
    if (this.#o.video === true && this.#timer === null) {
      this.#timer = setInterval(() => { this.#sendVideoFrame(); }, VIDEO_FRAME_MS);
    } else if (this.#source !== null && this.#timer === null) {
      this.#timer = setInterval(() => { this.#sendFrame(); }, 20);
    }
    this.#rtcpTimer = setInterval(() => { this.#sendRtcp(); }, 1000);
    this.#sendRtcp();
  }

  #sendFrame(): void {
    const src = this.#source;
    if (src === null || src.length === 0) return;
    const pkt = Buffer.alloc(12 + SAMPLES_PER_PACKET);
    pkt[0] = 0x80;
    pkt[1] = (this.#o.payloadType ?? 0) & 0x7f;
    pkt.writeUInt16BE(this.#seq, 2);
    pkt.writeUInt32BE(this.#ts >>> 0, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    for (let i = 0; i < SAMPLES_PER_PACKET; i++) {
      pkt[12 + i] = encodePcmuSample(src[this.#pos] ?? 0);
      this.#pos = (this.#pos + 1) % src.length;
    }
    this.#seq = seqAdd(this.#seq, 1);
    this.#ts = tsAdd(this.#ts, SAMPLES_PER_PACKET);
    this.#sent++;
    this.#sentBytes += SAMPLES_PER_PACKET;
    const out = this.#protect(pkt, false);
    if (out !== null) this.#rtp?.send(out, this.#remoteRtpPort, this.#remoteAddress);
  }

  #sendVideoFrame(): void {
    const pkt = Buffer.alloc(12 + VIDEO_PAYLOAD_BYTES, this.#sent & 0xff);
    pkt[0] = 0x80;
    pkt[1] = 0x80 | ((this.#o.payloadType ?? VIDEO_PAYLOAD_TYPE) & 0x7f); // marker: one packet per frame
    pkt.writeUInt16BE(this.#seq, 2);
    pkt.writeUInt32BE(this.#ts >>> 0, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    this.#seq = seqAdd(this.#seq, 1);
    this.#ts = tsAdd(this.#ts, 90 * VIDEO_FRAME_MS);
    this.#sent++;
    this.#sentBytes += VIDEO_PAYLOAD_BYTES;
    this.#rtp?.send(pkt, this.#remoteRtpPort, this.#remoteAddress);
  }

  #sendRtcp(): void {
    // SR (RFC 3550 §6.4.1) without report blocks + SDES CNAME (§6.5).
    const sr = Buffer.alloc(28);
    sr[0] = 0x80; sr[1] = 200; sr.writeUInt16BE(6, 2); sr.writeUInt32BE(this.ssrc, 4);
    const ntpMs = Date.now() + 2208988800000;
    sr.writeUInt32BE(Math.floor(ntpMs / 1000) >>> 0, 8);
    sr.writeUInt32BE(Math.floor(((ntpMs % 1000) / 1000) * 2 ** 32) >>> 0, 12);
    sr.writeUInt32BE(this.#ts >>> 0, 16); sr.writeUInt32BE(this.#sent >>> 0, 20); sr.writeUInt32BE(this.#sentBytes >>> 0, 24);
    const cname = Buffer.from(this.#o.cname.slice(0, 200), 'utf8');
    const itemLen = 2 + cname.length;
    const chunkLen = 4 + itemLen + 1; // ssrc + item + terminating null
    const padded = Math.ceil(chunkLen / 4) * 4;
    const sdes = Buffer.alloc(4 + padded);
    sdes[0] = 0x81; sdes[1] = 202; sdes.writeUInt16BE(padded / 4, 2);
    sdes.writeUInt32BE(this.ssrc, 4); sdes[8] = 1; sdes[9] = cname.length; cname.copy(sdes, 10);
    const out = this.#protect(Buffer.concat([sr, sdes]), true);
    if (out !== null) this.#rtcp?.send(out, this.#remoteRtpPort + 1, this.#remoteAddress);
  }

  #stats(ssrc: number): SsrcStats {
    let s = this.received.get(ssrc);
    if (s === undefined) {
      if (this.received.size >= 256) return { ssrc, packets: 0, bytes: 0, payloadType: -1, rtcpPackets: 0, duplicates: 0 };
      s = { ssrc, packets: 0, bytes: 0, payloadType: -1, rtcpPackets: 0, duplicates: 0 };
      this.received.set(ssrc, s);
    }
    return s;
  }

  #onRtp(raw: Buffer): void {
    const b = this.#unprotect(raw, false);
    if (b === null) return;
    if (b.length < 12 || b[0] === undefined || b[0] >> 6 !== 2) return;
    const cc = b[0] & 0x0f;
    let off = 12 + 4 * cc;
    if ((b[0] & 0x10) !== 0) {
      if (b.length < off + 4) return;
      off += 4 + 4 * b.readUInt16BE(off + 2);
    }
    let end = b.length;
    if ((b[0] & 0x20) !== 0) end -= b[b.length - 1] ?? 0;
    if (off > end) return;
    const ssrc = b.readUInt32BE(8);
    const s = this.#stats(ssrc);
    let seen = this.#seen.get(ssrc);
    if (seen === undefined && this.#seen.size < 256) this.#seen.set(ssrc, seen = new Uint8Array(8192));
    if (seen !== undefined) {
      const seq = b.readUInt16BE(2);
      const ahead = (seq + 32768) & 0xffff;
      seen[ahead >> 3] &= ~(1 << (ahead & 7));
      if ((seen[seq >> 3] & (1 << (seq & 7))) !== 0) {
        s.duplicates++;
      } else {
        seen[seq >> 3] |= 1 << (seq & 7);
      }
    }
    s.packets++;
    s.bytes += end - off;
    s.payloadType = (b[1] ?? 0) & 0x7f;
    if (this.#o.record === true && (s.payloadType === 0 || s.payloadType === (this.#o.payloadType ?? 0))) {
      let r = this.#recordings.get(ssrc);
      if (r === undefined) { r = { samples: new Int16Array(8000 * 4), length: 0 }; this.#recordings.set(ssrc, r); }
      for (let i = off; i < end && r.length < MAX_RECORDED_SAMPLES; i++) {
        if (r.length === r.samples.length) {
          const bigger = new Int16Array(Math.min(r.samples.length * 2, MAX_RECORDED_SAMPLES));
          bigger.set(r.samples);
          r.samples = bigger;
        }
        r.samples[r.length++] = PCMU_DECODE[b[i] ?? 0xff] ?? 0;
      }
    }
  }

  #onRtcp(raw: Buffer): void {
    const b = this.#unprotect(raw, true);
    if (b === null) return;
    let off = 0;
    for (let guard = 0; guard < 16 && off + 8 <= b.length; guard++) {
      const pt = b[off + 1] ?? 0;
      const len = 4 * ((b.readUInt16BE(off + 2)) + 1);
      if (off + len > b.length) return;
      const ssrc = b.readUInt32BE(off + 4);
      if (pt === 200 || pt === 201) this.#stats(ssrc).rtcpPackets++;
      if (pt === 202 && (b[off + 8] ?? 0) === 1) {
        const n = b[off + 9] ?? 0;
        if (off + 10 + n <= b.length) this.#stats(ssrc).cname = b.toString('utf8', off + 10, off + 10 + n);
      }
      off += len;
    }
  }

  recording(ssrc: number): Int16Array | undefined {
    const r = this.#recordings.get(ssrc);
    return r !== undefined ? r.samples.subarray(0, r.length) : undefined;
  }

  get sentPackets(): number { return this.#sent; }

  /** Stops sending RTP and RTCP (receiving goes on); start() sends again. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#rtcpTimer !== null) clearInterval(this.#rtcpTimer);
    this.#timer = null;
    this.#rtcpTimer = null;
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#rtcpTimer !== null) clearInterval(this.#rtcpTimer);
    this.#timer = null;
    this.#rtcpTimer = null;
    const socks = [this.#rtp, this.#rtcp].filter((x): x is dgram.Socket => x !== null);
    this.#rtp = null;
    this.#rtcp = null;
    await Promise.all(socks.map(closeUdp));
  }
}

function bindUdp(s: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => { reject(e); };
    s.once('error', onErr);
    s.bind(port, address, () => { s.off('error', onErr); resolve(); });
  });
}

function closeUdp(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try { s.close(() => resolve()); } catch { resolve(); }
  });
}

export function clientSdp(address: string, rtpPort: number, ssrc: number, cname: string, direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' = 'sendrecv',
  video?: { readonly rtpPort: number; readonly ssrc: number }, srtp?: SrtpKey): string {
  return [
    'v=0', `o=- ${ssrc} 1 IN IP4 ${address}`, 's=client', `c=IN IP4 ${address}`, 't=0 0',
    `m=audio ${rtpPort} ${srtp !== undefined ? 'RTP/SAVP' : 'RTP/AVP'} 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
    `a=rtcp:${rtpPort + 1}`, `a=ssrc:${ssrc} cname:${cname}`, `a=${direction}`,
    ...(srtp !== undefined ? [`a=crypto:1 ${srtp.suite} ${keyToInline(srtp)}`] : []),
    // Video stays RTP/AVP: this tool's video stream has no SRTP.
    ...(video !== undefined ? [`m=video ${video.rtpPort} RTP/AVP ${VIDEO_PAYLOAD_TYPE}`, `a=rtpmap:${VIDEO_PAYLOAD_TYPE} VP8/90000`,
      `a=rtcp:${video.rtpPort + 1}`, `a=ssrc:${video.ssrc} cname:${cname}`, `a=${direction}`] : []),
    '',
  ].join('\r\n');
}

/** The reflector's key from an SDP answer's audio a=crypto line (RFC 4568), or undefined. */
export function answerSrtpKey(media: { crypto?: { id: number; suite: string; config: string }[] }): SrtpKey | undefined {
  const c = media.crypto?.[0];
  if (c === undefined) return undefined;
  const suite = SRTP_SUITES.find((x) => x === c.suite);
  if (suite === undefined) return undefined;
  const k = parseKeyParams(suite, c.config);
  return typeof k === 'string' ? undefined : k;
}
