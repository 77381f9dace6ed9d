/**
 * SDP offer/answer (RFC 3264) for the reflector (SPEC §4), with sdp-transform.
 * The answer points every stream at the shared media ports, keeps the offer's
 * m-line order, accepts the intersection of offered and allowed codecs (the
 * session's codecs first), mirrors directions and rejects streams without a
 * common codec at port 0.
 *
 * Payload-type numbers (RFC 3264 §6.1): the answer uses the offerer's number
 * for every codec it accepts, so no offered number is ever given to another
 * codec. Each accepted codec also gets the session's canonical number
 * (internal: the core maps every participant's numbers through it when it
 * reflects). telephone-event is answered only at the clock rates of the
 * accepted audio codecs (RFC 4733 §2.1), or once at 8000 Hz when none matches.
 */
import net from 'node:net';
import * as sdpTransform from 'sdp-transform';
import type { AudioMode } from '../../config/types.js';
import type { CodecMapping, Direction, Medium, SessionCodec, StreamSpec } from '../../reflector/api.js';

/** Static payload types (RFC 3551 Table 4) of the codecs a reflector is likely to meet. */
const STATIC_PTS: Readonly<Record<number, { name: string; clockRateHz: number; channels: number }>> = {
  0: { name: 'PCMU', clockRateHz: 8000, channels: 1 },
  3: { name: 'GSM', clockRateHz: 8000, channels: 1 },
  4: { name: 'G723', clockRateHz: 8000, channels: 1 },
  8: { name: 'PCMA', clockRateHz: 8000, channels: 1 },
  9: { name: 'G722', clockRateHz: 8000, channels: 1 },
  10: { name: 'L16', clockRateHz: 44100, channels: 2 },
  11: { name: 'L16', clockRateHz: 44100, channels: 1 },
  18: { name: 'G729', clockRateHz: 8000, channels: 1 },
  26: { name: 'JPEG', clockRateHz: 90000, channels: 1 },
  31: { name: 'H261', clockRateHz: 90000, channels: 1 },
  34: { name: 'H263', clockRateHz: 90000, channels: 1 },
};

/**
 * What a `mix` participant may be answered with: the mixer's codecs as NAME/rtp-clock-rate (mono; opus is
 * always opus/48000/2 in SDP, RFC 7587, and is decoded to mono), kept
 * in step with src/mixer/codecs.ts `mixerCodecNames()` by a test; telephone-event is regenerated, not mixed.
 */
export const MIXER_CODECS: readonly string[] = ['PCMU/8000', 'PCMA/8000', 'G722/8000', 'L16/8000', 'L16/16000', 'L16/48000', 'opus/48000'];

function mixable(c: { name: string; clockRateHz: number; channels: number }): boolean {
  if (c.name.toLowerCase() === 'telephone-event') return true;
  // RFC 7587 §7: opus is always opus/48000/2 in the rtpmap; the mixer decodes either to mono.
  const opus = c.name.toLowerCase() === 'opus';
  if (opus ? c.channels !== 2 : c.channels !== 1) return false;
  const key = `${c.name}/${c.clockRateHz}`.toLowerCase();
  return MIXER_CODECS.some((m) => m.toLowerCase() === key);
}

export interface NegotiationInput {
  readonly offer: string;
  readonly mode: AudioMode;
  readonly publicAddress: string;
  readonly audioPort: number;
  readonly videoPort: number;
  readonly audioCodecs: readonly string[];
  readonly videoCodecs: readonly string[];
  /** The session's canonical codec table per medium (core.sessionCodecs). */
  readonly sessionCodecs: (medium: Medium) => readonly SessionCodec[];
  /** o= line identity of this dialog's answers. */
  readonly sessionId: number;
  readonly sessionVersion: number;
}

export type NegotiationResult =
  | { readonly ok: true; readonly answer: string; readonly streams: StreamSpec[] }
  | { readonly ok: false; readonly status: 400 | 488; readonly reason: string };

interface OfferedCodec {
  readonly pt: number;
  readonly name: string;
  readonly clockRateHz: number;
  readonly channels: number;
  readonly fmtp?: string;
}

const DIRECTIONS: readonly Direction[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

function mirror(d: Direction): Direction {
  // RFC 3264 §6.1: sendonly ↔ recvonly, inactive stays inactive.
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

function sameCodec(a: { name: string; clockRateHz: number; channels: number }, b: { name: string; clockRateHz: number; channels: number }): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.clockRateHz === b.clockRateHz && a.channels === b.channels;
}

function offeredCodecs(m: sdpTransform.MediaDescription): OfferedCodec[] {
  const out: OfferedCodec[] = [];
  const pts = String(m.payloads ?? '').trim().split(/\s+/).filter((s) => /^\d{1,3}$/.test(s)).map(Number);
  const rtp = Array.isArray(m.rtp) ? m.rtp : [];
  const fmtp = Array.isArray(m.fmtp) ? m.fmtp : [];
  for (const pt of pts.slice(0, 64)) {
    if (pt > 127) continue;
    const map = rtp.find((r) => r.payload === pt);
    const f = fmtp.find((x) => x.payload === pt);
    let codec: { name: string; clockRateHz: number; channels: number } | undefined;
    if (map !== undefined && typeof map.codec === 'string' && map.codec.length > 0) {
      const rate = typeof map.rate === 'number' && map.rate > 0 ? map.rate : 8000;
      const ch = typeof map.encoding === 'number' && map.encoding > 0 ? map.encoding : 1;
      codec = { name: map.codec, clockRateHz: rate, channels: ch };
    } else {
      codec = STATIC_PTS[pt];
    }
    if (codec === undefined) continue;
    out.push({ pt, ...codec, ...(f !== undefined && typeof f.config === 'string' ? { fmtp: f.config } : {}) });
  }
  return out;
}

/** Picks the canonical PT for `c`: the session's, the static one, the offered dynamic one if free, else the lowest free. */
function canonicalPt(c: OfferedCodec, table: readonly SessionCodec[], taken: Set<number>): number | undefined {
  const known = table.find((s) => sameCodec(s, c));
  if (known !== undefined) return known.pt;
  const stat = STATIC_PTS[c.pt];
  if (c.pt < 96 && stat !== undefined && sameCodec(stat, c)) return c.pt;
  if (c.pt >= 96 && !taken.has(c.pt)) return c.pt;
  for (let pt = 96; pt <= 127; pt++) if (!taken.has(pt)) return pt;
  return undefined;
}

export function negotiate(input: NegotiationInput): NegotiationResult {
  let offer: sdpTransform.SessionDescription;
  try {
    offer = sdpTransform.parse(input.offer);
  } catch {
    return { ok: false, status: 400, reason: 'Malformed SDP' };
  }
  if (!Array.isArray(offer.media) || offer.media.length === 0) return { ok: false, status: 488, reason: 'No media in SDP offer' };
  if (offer.media.length > 16) return { ok: false, status: 488, reason: 'Too many media streams' };

  const ipVer = net.isIPv6(input.publicAddress) ? 6 : 4;
  const answer: sdpTransform.SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: input.sessionId, sessionVersion: input.sessionVersion, netType: 'IN', ipVer, address: input.publicAddress },
    name: 'rtp-reflector',
    connection: { version: ipVer, ip: input.publicAddress },
    timing: { start: 0, stop: 0 },
    media: [],
  };
  const streams: StreamSpec[] = [];
  const used = new Set<Medium>();
  const sessionDir = DIRECTIONS.find((d) => d === offer.direction);

  for (const m of offer.media) {
    const medium: Medium | undefined = m.type === 'audio' ? 'audio' : m.type === 'video' ? 'video' : undefined;
    const protocol = typeof m.protocol === 'string' ? m.protocol : 'RTP/AVP';
    const firstFmt = String(m.payloads ?? '0').trim().split(/\s+/)[0] ?? '0';
    const reject = (): void => {
      answer.media.push({ type: String(m.type), port: 0, protocol, payloads: firstFmt, rtp: [], fmtp: [] });
    };
    if (medium === undefined || used.has(medium) || m.port === 0 || !/^RTP\/AVPF?$/.test(protocol)) {
      reject();
      continue;
    }
    const address = m.connection?.ip ?? offer.connection?.ip;
    if (address === undefined || !(net.isIP(address) > 0) || !(m.port > 0 && m.port < 65536)) {
      reject();
      continue;
    }
    const allowedNames = (medium === 'audio' ? input.audioCodecs : input.videoCodecs).map((s) => s.toLowerCase());
    const table = input.sessionCodecs(medium);
    let candidates = offeredCodecs(m).filter((c) => allowedNames.includes(c.name.toLowerCase()));
    if (medium === 'audio' && input.mode === 'mix') candidates = candidates.filter(mixable);
    // Order: codecs the session already uses (in its order), then configured preference.
    const rank = (c: OfferedCodec): number => {
      const i = table.findIndex((s) => sameCodec(s, c));
      if (i >= 0 && (medium === 'video' || input.mode === 'reflect')) return i;
      return 1000 + allowedNames.indexOf(c.name.toLowerCase());
    };
    candidates = [...candidates].sort((a, b) => rank(a) - rank(b));
    const mappings: CodecMapping[] = [];
    const taken = new Set<number>(table.map((s) => s.pt));
    for (const c of candidates) {
      if (mappings.some((x) => sameCodec(x, c))) continue;
      const pt = canonicalPt(c, table, taken);
      if (pt === undefined) continue;
      if (mappings.some((x) => x.canonicalPt === pt)) continue;
      taken.add(pt);
      mappings.push({
        canonicalPt: pt, participantPt: c.pt, name: c.name, clockRateHz: c.clockRateHz, channels: c.channels,
        ...(c.fmtp !== undefined ? { fmtp: c.fmtp } : {}),
      });
    }
    if (medium === 'audio') pruneTelephoneEvents(mappings);
    // telephone-event alone carries no media.
    if (!mappings.some((x) => x.name.toLowerCase() !== 'telephone-event')) {
      reject();
      continue;
    }
    used.add(medium);
    const direction: Direction = DIRECTIONS.find((d) => d === m.direction) ?? sessionDir ?? 'sendrecv';
    const rtcpPort = m.rtcp !== undefined && m.rtcp.port > 0 && m.rtcp.port < 65536 ? m.rtcp.port : m.port + 1;
    const ssrcs: number[] = [];
    for (const s of Array.isArray(m.ssrcs) ? m.ssrcs : []) {
      const id = Number(s.id);
      if (Number.isInteger(id) && id >= 0 && id <= 0xffffffff && !ssrcs.includes(id) && ssrcs.length < 16) ssrcs.push(id);
    }
    streams.push({ medium, address, rtpPort: m.port, rtcpPort, direction, ssrcs, codecs: mappings });
    const port = medium === 'audio' ? input.audioPort : input.videoPort;
    answer.media.push({
      type: medium,
      port,
      protocol,
      payloads: mappings.map((x) => x.participantPt).join(' '),
      rtp: mappings.map((x) => ({ payload: x.participantPt, codec: x.name, rate: x.clockRateHz, ...(x.channels > 1 ? { encoding: x.channels } : {}) })),
      fmtp: mappings.filter((x) => x.fmtp !== undefined).map((x) => ({ payload: x.participantPt, config: x.fmtp ?? '' })),
      rtcp: { port: port + 1 },
      direction: mirror(direction),
    });
  }
  if (streams.length === 0) return { ok: false, status: 488, reason: 'No acceptable media stream' };
  return { ok: true, answer: sdpTransform.write(answer), streams };
}

function isTelephoneEvent(c: { name: string }): boolean {
  return c.name.toLowerCase() === 'telephone-event';
}

/**
 * Keeps telephone-event only at the RTP clock rates of the accepted audio codecs (one per rate), or
 * one at 8000 Hz (else the first) when no rate matches: an offer of telephone-event/48000, /16000
 * and /8000 beside opus and PCMU is answered with /48000 and /8000.
 */
function pruneTelephoneEvents(mappings: CodecMapping[]): void {
  const events = mappings.filter(isTelephoneEvent);
  if (events.length <= 1) return;
  const rates = new Set(mappings.filter((x) => !isTelephoneEvent(x)).map((x) => x.clockRateHz));
  let keep = events.filter((e) => rates.has(e.clockRateHz));
  if (keep.length === 0) keep = [events.find((e) => e.clockRateHz === 8000) ?? events[0]];
  for (let i = mappings.length - 1; i >= 0; i--) {
    if (isTelephoneEvent(mappings[i]) && !keep.includes(mappings[i])) mappings.splice(i, 1);
  }
}

/** Our SDP for a re-INVITE without an offer (RFC 3264 §8: the numbers of the dialog's last answer): the current streams offered again (sendrecv). */
export function sdpForStreams(input: Omit<NegotiationInput, 'offer' | 'mode' | 'sessionCodecs' | 'audioCodecs' | 'videoCodecs'>, streams: readonly StreamSpec[]): string {
  const ipVer = net.isIPv6(input.publicAddress) ? 6 : 4;
  return sdpTransform.write({
    version: 0,
    origin: { username: '-', sessionId: input.sessionId, sessionVersion: input.sessionVersion, netType: 'IN', ipVer, address: input.publicAddress },
    name: 'rtp-reflector',
    connection: { version: ipVer, ip: input.publicAddress },
    timing: { start: 0, stop: 0 },
    media: streams.map((s) => {
      const port = s.medium === 'audio' ? input.audioPort : input.videoPort;
      return {
        type: s.medium, port, protocol: 'RTP/AVP',
        payloads: s.codecs.map((c) => c.participantPt).join(' '),
        rtp: s.codecs.map((c) => ({ payload: c.participantPt, codec: c.name, rate: c.clockRateHz, ...(c.channels > 1 ? { encoding: c.channels } : {}) })),
        fmtp: s.codecs.filter((c) => c.fmtp !== undefined).map((c) => ({ payload: c.participantPt, config: c.fmtp ?? '' })),
        rtcp: { port: port + 1 },
        direction: 'sendrecv' as const,
      };
    }),
  });
}
