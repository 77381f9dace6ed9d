/**
 * Fuzz targets: one per parser of untrusted input. Each target takes the bytes
 * of one input, runs the parser(s) the reflector runs on it, and returns an
 * outcome label (for feedback: an input with a new label joins the corpus)
 * and the size of what the parser produced (checked against a bound relative
 * to the input: no amplification, no runaway output).
 *
 * A target must never throw: an exception is a finding.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';
import { CONFIG_KEYWORDS } from '../../src/config/schema.js';
import { parseAuthLine, parseCount } from '../../src/proxy/tcp-line.js';
import { RtcpInspection, RtcpInspector } from '../../src/reflector/rtcp-inspector.js';
import { encodeRelayDatagram, parseRelayShim, RelayShim } from '../../src/rtp/relay-shim.js';
import { encodeRflx, findRflxApp, parseRflx } from '../../src/rtp/rflx.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { encodeBye } from '../../src/rtp/rtcp-bye.js';
import { validateRtcpCompound } from '../../src/rtp/rtcp-compound.js';
import { encodeReceiverReport } from '../../src/rtp/rtcp-rr.js';
import { encodeSdes } from '../../src/rtp/rtcp-sdes.js';
import { encodeSenderReport } from '../../src/rtp/rtcp-sr.js';
import { encodeRtp, parseRtpHeader, RtpHeader } from '../../src/rtp/rtp-header.js';
import { decodeSessionName } from '../../src/rtp/session-name.js';
import { encodeStunBindingRequest, parseStun, readXorMappedAddress, StunMessage } from '../../src/rtp/stun.js';
import { parseAuthorization, parseChallenge } from '../../src/sip/uas/digest.js';
import { frameDatagram, StreamFramer, type Frame } from '../../src/sip/transport/framing.js';
import { parseNameAddr, parseSipMessage, parseSipUri } from '../../src/sip/message.js';
import { negotiate } from '../../src/sip/uas/sdp-negotiate.js';
import { RFC4475_MESSAGES } from '../../test/sip/rfc4475/messages.js';

export interface FuzzOutcome {
  /** A short label of what happened (drop reason, message kind…). */
  readonly label: string;
  /** Bytes (or characters) of output the parser produced. */
  readonly outputSize: number;
}

export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Valid (and a few interesting invalid) inputs to mutate. */
  seeds(): Buffer[];
  /** Tokens the mutator splices in (text formats). */
  readonly dictionary: readonly string[];
  run(input: Buffer): FuzzOutcome;
  /** Largest acceptable outputSize for an input of `n` bytes. */
  maxOutput(n: number): number;
}

const t = (s: string): Buffer => Buffer.from(s, 'latin1');

// ─── SIP ──────────────────────────────────────────────────────────────────

const SIP_DICT = [
  '\r\n', '\r\n\r\n', ' ', '\t', ':', ';', ',', '"', '\\', '<', '>', '%', '%00', '%25', '=', '/', '@', '[', ']',
  'SIP/2.0', 'SIP / 2.0 / UDP', 'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'sip:', 'sips:', 'tel:', 'mailto:',
  'Via: ', 'v: ', 'From: ', 'f: ', 'To: ', 't: ', 'Call-ID: ', 'i: ', 'CSeq: ', 'Content-Length: ', 'l: ', 'Content-Type: ',
  'Require: ', 'Proxy-Require: ', 'Max-Forwards: ', 'Authorization: Digest ', 'Contact: ', 'Record-Route: ', 'Route: ',
  ';branch=z9hG4bK', ';tag=', ';rport', ';received=', ';maddr=', 'application/sdp', '0', '1', '70', '4294967296',
  '99999999999', '-1', '\u00e9', '\u2028', '\x00', '\x7f', 'Digest username="a", realm="r", nonce="n", uri="sip:x", response="0"',
];

function sipRun(input: Buffer): FuzzOutcome {
  const f = frameDatagram(input);
  let label: string;
  let size = 0;
  if (typeof f === 'string') label = `frame:${f}`;
  else {
    const r = parseSipMessage(f.head, f.body);
    if (r.ok) {
      const m = r.message;
      label = m.kind === 'request' ? `ok:${m.method.slice(0, 16)}` : `ok:${m.status}`;
      for (const v of m.headers.values()) size += v.length;
      size += m.body.length;
      // What the user agent parses next from a request: URIs, name-addrs, credentials.
      if (m.kind === 'request') {
        const u = parseSipUri(m.uri);
        size += u === undefined ? 0 : u.host.length;
        parseNameAddr(m.headers.get('contact') ?? '');
        const auth = m.headers.get('authorization');
        if (auth !== undefined) size += parseAuthorization(auth).length;
        const name = decodeSessionName(u?.user);
        if (name.ok) size += name.name.length;
      }
    } else label = `parse:${r.reason}`;
  }
  // The same bytes as a stream, cut in three: never more frames than messages could fit.
  const framer = new StreamFramer();
  const out: Frame[] = [];
  const a = input.length >> 2;
  const b = input.length >> 1;
  framer.push(input.subarray(0, a), out);
  framer.push(input.subarray(a, b), out);
  const err = framer.push(input.subarray(b), out);
  for (const fr of out) size += fr.head.length + fr.body.length;
  return { label: err === null ? label : `${label}|stream:${err}`, outputSize: size };
}

function sipSeeds(): Buffer[] {
  const seeds = RFC4475_MESSAGES.map((m) => m.bytes());
  seeds.push(t([
    'INVITE sip:room@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKabc;rport', 'Max-Forwards: 70',
    'From: "A" <sip:a@127.0.0.2>;tag=1', 'To: <sip:room@127.0.0.1>', 'Call-ID: c1', 'CSeq: 1 INVITE',
    'Contact: <sip:a@127.0.0.2>', 'Content-Type: application/sdp', 'Content-Length: 4', '', 'v=0\n',
  ].join('\r\n')));
  return seeds;
}

// ─── SDP ──────────────────────────────────────────────────────────────────

const SDP_OFFER = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.2', 's=-', 'c=IN IP4 127.0.0.2', 't=0 0',
  'm=audio 40000 RTP/AVP 0 8 9 101', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendrecv', 'a=ssrc:1234 cname:x',
  'm=video 40002 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=rtcp:40003', '',
].join('\r\n');

const SDP_DICT = [
  '\r\n', '\n', 'm=audio ', 'm=video ', 'm=application ', 'c=IN IP4 ', 'c=IN IP6 ::1', 'a=rtpmap:', 'a=fmtp:', 'a=rtcp:',
  'a=sendonly', 'a=recvonly', 'a=inactive', 'a=ssrc:', 'RTP/AVP', 'RTP/SAVP', 'opus/48000/2', 'PCMU/8000', 'G722/8000',
  'L16/16000', ' 0', ' 65535', ' 65536', ' 99999999999', '-1', '/', '0.0.0.0', '255.255.255.255', 'b=AS:', '\x00',
];

function sdpRun(input: Buffer): FuzzOutcome {
  let size = 0;
  let label = '';
  for (const mode of ['reflect', 'mix'] as const) {
    const r = negotiate({
      offer: input.toString('utf8'), mode, publicAddress: '127.0.0.1', audioPort: 5570, videoPort: 5572,
      audioCodecs: ['PCMU', 'PCMA', 'G722', 'opus'], videoCodecs: ['H264'],
      sessionCodecs: () => [], sessionId: 1, sessionVersion: 1,
    });
    label += r.ok ? `ok${r.streams.length}:` : `no${r.status}:${r.reason.replace(/[0-9]+/g, 'N').slice(0, 32)}:`;
    size = Math.max(size, r.ok ? r.answer.length : r.reason.length);
  }
  return { label, outputSize: size };
}

// ─── binary media formats ─────────────────────────────────────────────────

const rtpHeader = new RtpHeader();
const rtcpInspector = new RtcpInspector();
const rtcpInspection = new RtcpInspection();
const relayShim = new RelayShim();
const stunMessage = new StunMessage();
const BIN_DICT = ['\x00', '\xff', '\x80', '\x7f', '\x00\x00', '\xff\xff', '\x00\x00\x00\x00', '\xff\xff\xff\xff', 'RFLX', '\x21\x12\xa4\x42'];

function rtpSeeds(): Buffer[] {
  return [
    encodeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x1234 }, Buffer.alloc(160, 0xff)),
    encodeRtp({ payloadType: 96, sequenceNumber: 65535, timestamp: 0xffffffff, ssrc: 1, marker: true, csrcs: [1, 2, 3], extensionProfile: 0xbede, extensionData: Buffer.alloc(8, 1), paddingLength: 4 }, Buffer.alloc(20, 1)),
  ];
}

function rtcpSeeds(): Buffer[] {
  const block = { ssrc: 2, fractionLost: 1, packetsLost: -5, highestSeq: 100, jitter: 3, lastSr: 4, delaySinceLastSr: 5 };
  const rflx = encodeRflx({ subtype: RflxSubtype.ShareRequest, ssrc: 9, fields: { requestId: 7, title: 'slides' } });
  return [
    Buffer.concat([
      encodeSenderReport({ ssrc: 1, ntpSec: 1, ntpFrac: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reports: [block] }),
      encodeSdes([{ ssrc: 1, items: [{ type: 1, text: 'cname@host' }, { type: 2, text: 'Name' }] }]),
      encodeBye([1, 2], 'bye'),
      rflx,
    ]),
    Buffer.concat([encodeReceiverReport({ ssrc: 3, reports: [block, block] }), encodeSdes([{ ssrc: 3, items: [{ type: 1, text: 'c' }] }])]),
  ];
}

function rflxSeeds(): Buffer[] {
  const k = Buffer.alloc(16, 7);
  return [
    encodeRflx({ subtype: RflxSubtype.ShareRequest, ssrc: 9, fields: { requestId: 7, title: 'slides' } }),
    encodeRflx({ subtype: RflxSubtype.FileRequest, ssrc: 9, fields: { requestId: 8, name: 'a.pdf', size: 1234n, sha256: Buffer.alloc(32, 1) } }),
    encodeRflx({ subtype: RflxSubtype.PeerShareAnnounce, ssrc: 0, fields: { session: 'room', shareId: 5, address: '127.0.0.1', port: 7000, passkey: k, title: 't', sharer: 's' } }, 'secret'),
  ];
}

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'sip',
    description: 'SIP datagram and stream framing, message parsing, URI / name-addr / Authorization / session name',
    seeds: sipSeeds,
    dictionary: SIP_DICT,
    run: sipRun,
    // Header values and frames are slices of the input: never more than a few times its size.
    maxOutput: (n) => 4 * n + 64,
  },
  {
    name: 'sdp',
    description: 'SDP offer negotiation (both audio modes)',
    seeds: () => [t(SDP_OFFER), t(SDP_OFFER.replace('RTP/AVP 0 8 9 101', 'RTP/AVP 111').replace('telephone-event/8000', 'opus/48000/2'))],
    dictionary: SDP_DICT,
    run: sdpRun,
    // Our answer has at most one line set per offered m= line.
    maxOutput: (n) => 2048 + 4 * n,
  },
  {
    name: 'rtp',
    description: 'RTP fixed header, CSRCs, extension and padding',
    seeds: rtpSeeds,
    dictionary: BIN_DICT,
    run: (input) => {
      const r = parseRtpHeader(input, rtpHeader);
      return { label: r ?? `ok:${rtpHeader.csrcCount}`, outputSize: r === null ? rtpHeader.payloadLength : 0 };
    },
    maxOutput: (n) => n,
  },
  {
    name: 'rtcp',
    description: 'RTCP compound walk (SR, RR, SDES, BYE, APP/RFLX) as the core inspects it',
    seeds: rtcpSeeds,
    dictionary: BIN_DICT,
    run: (input) => {
      rtcpInspector.inspect(input, rtcpInspection);
      const v = validateRtcpCompound(input);
      const i = rtcpInspection;
      return {
        label: `${i.drop ?? 'ok'}:${v ?? 'ok'}:${i.byeCount > 0 ? 'bye' : ''}${i.rflxLength > 0 ? 'rflx' : ''}`,
        outputSize: i.byeCount * 4 + Math.max(0, i.cnameLength) + Math.max(0, i.nameLength),
      };
    },
    maxOutput: (n) => n,
  },
  {
    name: 'rflx',
    description: 'RFLX APP messages (TLVs, peer authentication field)',
    seeds: rflxSeeds,
    dictionary: BIN_DICT,
    run: (input) => {
      const m = parseRflx(input, 0, input.length);
      const app = findRflxApp(input);
      if (typeof m === 'string') return { label: `drop:${m}${app === null ? '' : ':app'}`, outputSize: 0 };
      let size = 0;
      for (const v of Object.values(m.fields)) size += typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 8;
      return { label: `ok:${m.subtype}`, outputSize: size };
    },
    maxOutput: (n) => 2 * n + 64,
  },
  {
    name: 'stun',
    description: 'STUN binding requests on the media ports, XOR-MAPPED-ADDRESS',
    seeds: () => [encodeStunBindingRequest(Buffer.alloc(12, 3))],
    dictionary: BIN_DICT,
    run: (input) => {
      const r = parseStun(input, stunMessage);
      const x = readXorMappedAddress(input);
      return { label: `${r ?? 'ok'}:${x === null ? '' : 'xma'}`, outputSize: x === null ? 0 : x.address.length };
    },
    maxOutput: (n) => n + 64,
  },
  {
    name: 'relay',
    description: 'relay shim of inter-reflector media datagrams',
    seeds: () => [encodeRelayDatagram(0, 1, 42, encodeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, Buffer.alloc(20)))],
    dictionary: BIN_DICT,
    run: (input) => {
      const r = parseRelayShim(input, relayShim);
      return { label: r ?? `ok:${relayShim.hopCount}`, outputSize: 0 };
    },
    maxOutput: () => 0,
  },
  {
    name: 'tcp-line',
    description: 'first line of proxy TCP connections (SHARE / VIEW / PUT / GET) and byte counts',
    seeds: () => [t(`SHARE 1 ${'ab'.repeat(16)}`), t(`GET 4294967295 ${'0'.repeat(32)} 12345`), t('PUT 7 zz')],
    dictionary: [' ', 'SHARE', 'VIEW', 'PUT', 'GET', '4294967296', '9007199254740993', '00', 'ff', '-', '\r', '\x00'],
    run: (input) => {
      const line = input.toString('latin1');
      const a = parseAuthLine(line, 1);
      const b = parseAuthLine(line, 0);
      const c = parseCount(line);
      const verb = a === null ? 'none' : ['SHARE', 'VIEW', 'PUT', 'GET'].includes(a.verb) ? a.verb : 'other';
      return { label: `${verb}:${a?.passkey === null ? 'badkey' : ''}:${b === null ? 'n' : 'y'}:${c === null ? 'n' : 'y'}`, outputSize: a === null ? 0 : a.verb.length + (a.arg?.length ?? 0) };
    },
    maxOutput: (n) => n,
  },
  {
    name: 'config',
    description: 'configuration file text (every error must name the file and a line)',
    seeds: () => {
      const example = fileURLToPath(new URL('../../../reflector.conf.example', import.meta.url));
      return [readFileSync(example), t('LISTEN_ADDRESS 127.0.0.1\nSIP_PORT 5060\nPEER 127.0.0.2 6000 secret\nSIP_USER a HA1:' + 'a'.repeat(32) + '\n')];
    },
    dictionary: ['\n', ' ', '#', 'PEER ', 'SIP_USER ', 'HOSTS_ALLOW ', 'APPSHARE_SERVER_PORTS ', '65536', '-', '/', '0.0.0.0/0', 'on', 'off', '__proto__'],
    run: (input) => {
      const { config, issues } = parseConfigText(input.toString('utf8'), 'fuzz.conf');
      for (const i of issues) {
        if (i.file !== 'fuzz.conf' || !(Number.isInteger(i.line) && i.line >= 0)) throw new Error(`config issue without file and line: ${JSON.stringify(i)}`);
      }
      if ((config === null) !== (issues.length > 0)) throw new Error('config and issues disagree');
      const kw = issues[0]?.keyword ?? '';
      const label = issues.length === 0 ? 'ok' : `issue:${(CONFIG_KEYWORDS as readonly string[]).includes(kw) ? kw : kw === '' ? 'file' : 'unknown'}:${issues.length > 1 ? 'n' : '1'}`;
      return { label, outputSize: issues.reduce((s, i) => s + i.message.length, 0) };
    },
    // Each line yields at most a couple of messages of bounded length.
    maxOutput: (n) => 400 * (n + 1),
  },
  {
    name: 'digest',
    description: 'Authorization and WWW-Authenticate header values',
    seeds: () => [
      t('Digest username="alice", realm="r", nonce="abc", uri="sip:room@h", response="00112233445566778899aabbccddeeff", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"'),
      t('Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", stale=true, opaque="o"'),
    ],
    dictionary: ['Digest ', ',', '=', '"', '\\"', 'username', 'realm', 'nonce', 'uri', 'response', 'algorithm=SHA-256', 'qop=auth', ' '],
    run: (input) => {
      const s = input.toString('utf8');
      const creds = parseAuthorization(s);
      const ch = parseChallenge(s);
      let size = 0;
      for (const c of creds) size += c.username.length + c.realm.length + c.nonce.length + c.uri.length + c.response.length;
      const alg = ch === undefined ? 'n' : ['MD5', 'SHA-256'].includes(ch.algorithm) ? ch.algorithm : 'other';
      return { label: `${Math.min(creds.length, 3)}:${alg}:${ch?.stale === true ? 'stale' : ''}`, outputSize: size };
    },
    maxOutput: (n) => 2 * n + 16,
  },
];

export function targetByName(name: string): FuzzTarget | undefined {
  return TARGETS.find((x) => x.name === name);
}
