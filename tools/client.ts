/**
 * Conference client (SPEC §11): joins a session by name over SIP UDP (digest
 * MD5 or SHA-256), sends PCMU at 20 ms from a tone or a WAV file (S16LE mono
 * 8 kHz), sends RTCP SR + SDES every second, records what it receives per SSRC,
 * hangs up after --duration seconds and prints a JSON summary.
 *
 * With an action (at most one) it also shares or views an application share
 * (SPEC §8) or sends or fetches a file (SPEC §9). The RFLX requests (SPEC §7)
 * go out from the participant's RTCP socket, because the reflector attributes
 * them by source address; the client hangs up once the action is done.
 *
 *   node dist/tools/client.js --help
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as sdpTransform from 'sdp-transform';
import { clientSdp, MediaEndpoint, writeWavS16Mono } from './lib/media.js';
import {
  announced, getFile, ProxyProtocolError, putFile, RflxClient, RflxRequestError, shareStream, viewShare, type TcpTarget,
} from './lib/proxy-client.js';
import { SipUdpClient } from './lib/sip-client.js';
import { VERSION } from '../src/runtime/version.js';

export const USAGE = `usage: client --server HOST[:PORT] --session NAME [options] [action]

Joins the session NAME over SIP UDP, sends PCMU, records what arrives per SSRC
and prints one JSON summary on stdout. Exit code 0 on success, 1 on any failure
(the summary then has an "error" field; an ERROR answer from the reflector also
gives "errorCode" and "errorReason"), 2 on bad arguments.

options:
  --server HOST[:PORT]   reflector SIP address (port 5060 by default)
  --session NAME         session name (the Request-URI user part)
  --local IP             local address to bind SIP, RTP/RTCP and TCP to (127.0.0.1)
  --user U --password P  digest credentials (U is also the SIP From user)
  --name NAME            display name in SIP From, shown on the dashboard and in logs
  --tone HZ              send a tone (440 Hz by default)
  --wav FILE             send a WAV file instead (PCM S16LE mono 8 kHz)
  --duration S           seconds to stay joined without an action (10)
  --record-dir DIR       write what arrives per SSRC as WAV files
  --mode mix|reflect     audio mode asked for in the Request-URI
  --video                also offer and send a video stream (VP8, PT 96, a 1000-byte
                         test pattern every 40 ms — not a real encoder); the summary
                         gets "video": ssrc, sentPackets, received per SSRC
  --timeout S            bound on each step of an action: an RFLX answer, an
                         announcement, a TCP answer line (30)
  --version              print the version and exit
  --help                 this text

actions (at most one; the client hangs up when it is done):
  --share FILE|-         SHARE_REQUEST (TITLE = --title or the file name), connect
                         to the granted server port, stream FILE (or stdin) and
                         close; the summary has "share": id, bytes, sha256.
                         Viewers get the bytes sent after they connect.
  --title T              title of the share
  --view                 wait for a SHARE_ANNOUNCE (of --share-id N if given),
                         VIEW it until the share ends; with --out FILE the bytes
                         are written there, otherwise only counted; "view":
                         bytes, sha256, ended (SHARE_END seen)
  --send-file FILE       FILE_REQUEST (NAME = basename, SIZE, SHA256), PUT, expect
                         OK with the same SHA-256; "sendFile": id, size, sha256
  --get-file             wait for a FILE_ANNOUNCE (of --file-id N if given), GET it
                         into --out FILE (required) and verify the SHA-256 of the
                         whole file; --offset N resumes: FILE must already hold
                         the first N bytes, the rest is appended; "getFile"
  --share-id N, --file-id N, --out FILE, --offset N   as above

Progress lines (JSON, one per line) go to stderr: {"event":"joined"},
{"event":"sharing","shareId":N} once the sharer is authenticated (stdin is
read from then on), {"event":"viewing","shareId":N} once the viewer is.`;

export type ClientAction =
  | { readonly kind: 'share'; readonly path: string; readonly title?: string }
  | { readonly kind: 'view'; readonly shareId?: number; readonly out?: string }
  | { readonly kind: 'send-file'; readonly path: string }
  | { readonly kind: 'get-file'; readonly fileId?: number; readonly out: string; readonly offset: number };

export interface ShareSummary { shareId: number; title: string; bytes: number; sha256: string }
export interface ViewSummary { shareId: number; title?: string; sharer?: string; bytes: number; sha256: string; out?: string; ended: boolean }
export interface SendFileSummary { fileId: number; name: string; size: number; sha256: string; verified: boolean }
export interface GetFileSummary {
  fileId: number; name?: string; size: number; offset: number; bytes: number;
  /** SHA-256 announced (and repeated in the `OK` line). */
  sha256: string;
  /** SHA-256 of the whole --out file after the download. */
  fileSha256: string;
  out: string; verified: boolean;
}

export interface ClientSummary {
  session: string;
  joined: boolean;
  statuses: number[];
  algorithm?: string;
  ssrc: number;
  sentPackets: number;
  received: { ssrc: number; packets: number; bytes: number; payloadType: number; rtcpPackets: number; cname?: string; wav?: string }[];
  /** Where the SDP answer sends this client's audio (the reflector's PUBLIC_ADDRESS and AUDIO_PORT). */
  media?: { address: string; port: number };
  endedBy: 'client' | 'reflector' | 'error';
  byeStatus?: number;
  share?: ShareSummary;
  view?: ViewSummary;
  sendFile?: SendFileSummary;
  getFile?: GetFileSummary;
  error?: string;
  /** CODE of an RFLX ERROR answer. */
  errorCode?: number;
  /** REASON of an RFLX ERROR answer, or the reason of a TCP `ERR` line. */
  errorReason?: string;
  /** With --video: our video SSRC, what we sent and what arrived per SSRC. */
  video?: { ssrc: number; sentPackets: number; received: { ssrc: number; packets: number; bytes: number; payloadType: number; rtcpPackets: number }[] };
}

export interface ClientOptions {
  server: string;
  serverPort: number;
  session: string;
  local: string;
  user?: string;
  /** Display name in SIP From (what the dashboard and logs show). */
  name?: string;
  password?: string;
  toneHz?: number;
  wavPath?: string;
  durationS: number;
  recordDir?: string;
  mode?: 'mix' | 'reflect';
  /** Also send and receive a video stream. */
  video?: boolean;
  action?: ClientAction;
  /** Bound on each step of an action (ms). */
  actionTimeoutMs?: number;
  /** Progress events (the CLI writes them to stderr as JSON lines). */
  progress?: (event: Record<string, unknown>) => void;
  /** Source for `--share -` (the CLI passes process.stdin). */
  stdin?: Readable;
}

export async function runClient(o: ClientOptions, signal?: AbortSignal): Promise<ClientSummary> {
  const sip = new SipUdpClient({
    localAddress: o.local, server: o.server, serverPort: o.serverPort,
    ...(o.user !== undefined ? { user: o.user } : {}), ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.name !== undefined ? { displayName: o.name } : {}),
  });
  const cname = `${o.user ?? 'client'}@${o.local}`;
  const media = new MediaEndpoint({
    localAddress: o.local, remoteAddress: o.server, remoteRtpPort: 0, cname,
    ...(o.toneHz !== undefined ? { toneHz: o.toneHz } : {}), ...(o.wavPath !== undefined ? { wavPath: o.wavPath } : {}),
    record: o.recordDir !== undefined,
  });
  const video = o.video === true ? new MediaEndpoint({ localAddress: o.local, remoteAddress: o.server, remoteRtpPort: 0, cname, video: true }) : null;
  const summary: ClientSummary = { session: o.session, joined: false, statuses: [], ssrc: media.ssrc, sentPackets: 0, received: [], endedBy: 'client' };
  try {
    await sip.bind();
    const rtpPort = await media.bind();
    const videoPort = video !== null ? await video.bind() : 0;
    const sdp = clientSdp(o.local, rtpPort, media.ssrc, cname, 'sendrecv', video !== null ? { rtpPort: videoPort, ssrc: video.ssrc } : undefined);
    const res = await sip.invite(o.session, sdp, o.mode !== undefined ? `;mode=${o.mode}` : '');
    summary.statuses = [...res.statuses];
    if (res.algorithm !== undefined) summary.algorithm = res.algorithm;
    if (res.status !== 200 || res.answerSdp === undefined) {
      summary.endedBy = 'error';
      summary.error = `INVITE failed: ${res.status} ${res.reason}`;
      return summary;
    }
    summary.joined = true;
    const answer = sdpTransform.parse(res.answerSdp);
    const audio = answer.media.find((m) => m.type === 'audio' && m.port > 0);
    if (audio === undefined) throw new Error('answer has no audio stream');
    const remoteAddress = audio.connection?.ip ?? answer.connection?.ip ?? o.server;
    media.setRemote(remoteAddress, audio.port);
    summary.media = { address: remoteAddress, port: audio.port };
    media.start();
    if (video !== null) {
      const v = answer.media.find((m) => m.type === 'video' && m.port > 0);
      if (v === undefined) throw new Error('answer has no video stream');
      video.setRemote(v.connection?.ip ?? answer.connection?.ip ?? o.server, v.port);
      video.start();
    }
    o.progress?.({ event: 'joined', session: o.session });
    let actionError: unknown;
    await new Promise<void>((resolve) => {
      let t: NodeJS.Timeout | undefined;
      const stop = (): void => { if (t !== undefined) clearTimeout(t); resolve(); };
      sip.once('bye', () => { summary.endedBy = 'reflector'; stop(); });
      signal?.addEventListener('abort', stop, { once: true });
      if (o.action === undefined) {
        t = setTimeout(resolve, o.durationS * 1000);
        return;
      }
      const rtcp = media.rtcpSocket;
      if (rtcp === null) { actionError = new Error('RTCP socket not bound'); stop(); return; }
      const rflx = new RflxClient(rtcp, { address: remoteAddress, port: audio.rtcp?.port ?? audio.port + 1 }, media.ssrc);
      runAction(o, o.action, rflx, summary).then(
        () => { rflx.close(); stop(); },
        (err: unknown) => { rflx.close(); actionError = err; stop(); },
      );
    });
    if (summary.endedBy === 'client') summary.byeStatus = await sip.bye();
    if (actionError !== undefined) throw actionError;
    if (o.action !== undefined && summary.endedBy === 'reflector') throw new Error('reflector ended the call before the action was done');
    if (o.action !== undefined && signal?.aborted === true) throw new Error('interrupted before the action was done');
  } catch (err) {
    summary.endedBy = 'error';
    summary.error = err instanceof Error ? err.message : String(err);
    if (err instanceof RflxRequestError) { summary.errorCode = err.code; summary.errorReason = err.reason; }
    if (err instanceof ProxyProtocolError) summary.errorReason = err.reason;
  } finally {
    summary.sentPackets = media.sentPackets;
    for (const s of media.received.values()) {
      const entry: ClientSummary['received'][number] = { ...s };
      const rec = media.recording(s.ssrc);
      if (o.recordDir !== undefined && rec !== undefined && rec.length > 0) {
        mkdirSync(o.recordDir, { recursive: true });
        entry.wav = join(o.recordDir, `ssrc-${s.ssrc.toString(16).padStart(8, '0')}.wav`);
        writeWavS16Mono(entry.wav, 8000, rec);
      }
      summary.received.push(entry);
    }
    await media.close();
    if (video !== null) {
      summary.video = { ssrc: video.ssrc, sentPackets: video.sentPackets, received: [...video.received.values()].map((x) => ({ ...x })) };
      await video.close();
    }
    sip.close();
  }
  return summary;
}

class ActionFailure extends Error {}

/** Hashes and counts the chunks of a stream on their way through. */
async function* hashing(source: AsyncIterable<Buffer | string>, hash: ReturnType<typeof createHash>, count: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const c of source) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    hash.update(chunk);
    count.bytes += chunk.length;
    yield chunk;
  }
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const rs = createReadStream(path);
    rs.on('data', (c) => hash.update(c));
    rs.once('error', reject);
    rs.once('end', () => resolve(hash.digest('hex')));
  });
}

async function runAction(o: ClientOptions, action: ClientAction, rflx: RflxClient, summary: ClientSummary): Promise<void> {
  const timeoutMs = o.actionTimeoutMs ?? 30_000;
  const tcp = (t: TcpTarget): TcpTarget => ({ ...t, localAddress: o.local });
  switch (action.kind) {
    case 'share': {
      const title = action.title ?? (action.path === '-' ? 'stdin' : basename(action.path));
      if (action.path !== '-') statSync(action.path); // fail before a share is allocated
      const grant = await rflx.requestShare(title, { timeoutMs });
      const source: Readable = action.path === '-' ? (o.stdin ?? process.stdin) : createReadStream(action.path);
      const hash = createHash('sha256');
      const count = { bytes: 0 };
      // The socket is authenticated before the first chunk is pulled from the source.
      const body = (async function* () {
        o.progress?.({ event: 'sharing', shareId: grant.shareId });
        yield* hashing(source as AsyncIterable<Buffer>, hash, count);
      })();
      await shareStream(tcp({ host: grant.address, port: grant.port }), { id: grant.shareId, passkey: grant.passkey }, body, timeoutMs);
      summary.share = { shareId: grant.shareId, title, bytes: count.bytes, sha256: hash.digest('hex') };
      return;
    }
    case 'view': {
      const ann = await rflx.shareAnnounce(action.shareId, timeoutMs);
      const { target, cred } = announced(ann);
      const sink = action.out !== undefined ? createWriteStream(action.out) : undefined;
      const sinkError = sink !== undefined ? new Promise<never>((_, reject) => sink.once('error', reject)) : undefined;
      const viewing = viewShare(tcp(target), cred, { timeoutMs, ...(sink !== undefined ? { sink } : {}), onOpen: () => o.progress?.({ event: 'viewing', shareId: cred.id }) });
      const r = await (sinkError !== undefined ? Promise.race([viewing, sinkError]) : viewing);
      if (sink !== undefined) await new Promise<void>((resolve) => sink.end(resolve));
      // The reflector closes viewers when the sharer leaves and then sends SHARE_END;
      // a close without SHARE_END means this viewer was dropped (too slow) mid-share.
      const ended = await rflx.shareEnd(cred.id, Math.min(timeoutMs, 3000)).then(() => true, () => false);
      summary.view = {
        shareId: cred.id, bytes: r.bytes, sha256: r.sha256, ended,
        ...(ann.fields.title !== undefined ? { title: ann.fields.title } : {}),
        ...(ann.fields.sharer !== undefined ? { sharer: ann.fields.sharer } : {}),
        ...(action.out !== undefined ? { out: action.out } : {}),
      };
      if (!ended) throw new ActionFailure('view connection closed before the share ended (no SHARE_END)');
      return;
    }
    case 'send-file': {
      const size = statSync(action.path).size;
      const sha256 = await sha256OfFile(action.path);
      const name = basename(action.path);
      const grant = await rflx.requestFile(name, size, Buffer.from(sha256, 'hex'), { timeoutMs });
      const verifiedSha = await putFile(tcp({ host: grant.address, port: grant.port }), { id: grant.fileId, passkey: grant.passkey }, { path: action.path }, timeoutMs);
      summary.sendFile = { fileId: grant.fileId, name, size, sha256, verified: verifiedSha === sha256 };
      if (verifiedSha !== sha256) throw new ActionFailure(`reflector verified SHA-256 ${verifiedSha}, expected ${sha256}`);
      return;
    }
    case 'get-file': {
      if (action.offset > 0) {
        let have = -1;
        try { have = statSync(action.out).size; } catch { /* absent */ }
        if (have !== action.offset) throw new ActionFailure(`--offset ${action.offset} needs --out ${action.out} holding exactly the first ${action.offset} bytes (it has ${have < 0 ? 'none' : have})`);
      }
      const ann = await rflx.fileAnnounce(action.fileId, timeoutMs);
      const { target, cred } = announced(ann);
      const announcedSha = ann.fields.sha256?.toString('hex') ?? '';
      const r = await getFile(tcp(target), cred, { offset: action.offset, dest: action.out, timeoutMs });
      const fileSha256 = await sha256OfFile(action.out);
      const complete = r.bytes === r.total - action.offset;
      const verified = complete && fileSha256 === r.sha256 && (announcedSha === '' || announcedSha === r.sha256);
      summary.getFile = {
        fileId: cred.id, size: r.total, offset: action.offset, bytes: r.bytes, sha256: r.sha256, fileSha256, out: action.out, verified,
        ...(ann.fields.name !== undefined ? { name: ann.fields.name } : {}),
      };
      if (!complete) throw new ActionFailure(`download cut short: ${r.bytes} of ${r.total - action.offset} bytes`);
      if (!verified) throw new ActionFailure(`SHA-256 mismatch: file ${fileSha256}, announced ${announcedSha}, OK line ${r.sha256}`);
      return;
    }
  }
}

function cliInt(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be an integer ${min}..${max}`);
  return Number(v);
}

/** Parses the command line; returns null for --help, 'version' for --version. */
export function parseCli(argv: string[]): ClientOptions | null | 'version' {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' }, session: { type: 'string' }, local: { type: 'string' },
      user: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, tone: { type: 'string' }, wav: { type: 'string' },
      duration: { type: 'string' }, 'record-dir': { type: 'string' }, mode: { type: 'string' }, video: { type: 'boolean' },
      share: { type: 'string' }, title: { type: 'string' }, view: { type: 'boolean' }, 'share-id': { type: 'string' },
      'send-file': { type: 'string' }, 'get-file': { type: 'boolean' }, 'file-id': { type: 'string' },
      out: { type: 'string' }, offset: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean' }, version: { type: 'boolean' },
    },
  });
  if (values.help === true) return null;
  if (values.version === true) return 'version';
  if (values.server === undefined || values.session === undefined) throw new Error(`--server and --session are required\n${USAGE}`);
  const m = /^(.*?)(?::(\d+))?$/.exec(values.server);
  const server = m?.[1] ?? values.server;
  const mode = values.mode;
  if (mode !== undefined && mode !== 'mix' && mode !== 'reflect') throw new Error('--mode must be mix or reflect');
  const actions = [values.share !== undefined, values.view === true, values['send-file'] !== undefined, values['get-file'] === true].filter(Boolean).length;
  if (actions > 1) throw new Error('at most one of --share, --view, --send-file, --get-file');
  const shareId = cliInt('share-id', values['share-id'], 0, 0xffffffff);
  const fileId = cliInt('file-id', values['file-id'], 0, 0xffffffff);
  const offset = cliInt('offset', values.offset, 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const timeoutS = cliInt('timeout', values.timeout, 1, 3600);
  if (shareId !== undefined && values.view !== true) throw new Error('--share-id goes with --view');
  if ((fileId !== undefined || values.offset !== undefined) && values['get-file'] !== true) throw new Error('--file-id and --offset go with --get-file');
  if (values.title !== undefined && values.share === undefined) throw new Error('--title goes with --share');
  if (values.out !== undefined && values.view !== true && values['get-file'] !== true) throw new Error('--out goes with --view or --get-file');
  let action: ClientAction | undefined;
  if (values.share !== undefined) action = { kind: 'share', path: values.share, ...(values.title !== undefined ? { title: values.title } : {}) };
  else if (values.view === true) action = { kind: 'view', ...(shareId !== undefined ? { shareId } : {}), ...(values.out !== undefined ? { out: values.out } : {}) };
  else if (values['send-file'] !== undefined) action = { kind: 'send-file', path: values['send-file'] };
  else if (values['get-file'] === true) {
    if (values.out === undefined) throw new Error('--get-file needs --out FILE');
    action = { kind: 'get-file', out: values.out, offset, ...(fileId !== undefined ? { fileId } : {}) };
  }
  return {
    server, serverPort: m?.[2] !== undefined ? Number(m[2]) : 5060, session: values.session,
    local: values.local ?? '127.0.0.1',
    ...(values.user !== undefined ? { user: values.user } : {}), ...(values.password !== undefined ? { password: values.password } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.wav !== undefined ? { wavPath: values.wav } : { toneHz: values.tone !== undefined ? Number(values.tone) : 440 }),
    durationS: values.duration !== undefined ? Number(values.duration) : 10,
    ...(values['record-dir'] !== undefined ? { recordDir: values['record-dir'] } : {}),
    ...(mode !== undefined ? { mode } : {}),
    ...(values.video === true ? { video: true } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(timeoutS !== undefined ? { actionTimeoutMs: timeoutS * 1000 } : {}),
  };
}

/** Run as a command (also through a symlink, e.g. an npm bin link), not imported by a test. */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
const isMain = isEntryPoint();
if (isMain) {
  let parsed: ClientOptions | null | 'version';
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (parsed === null) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (parsed === 'version') {
    process.stdout.write(`client ${VERSION}\n`);
    process.exit(0);
  }
  const opts: ClientOptions = { ...parsed, progress: (e) => { process.stderr.write(JSON.stringify(e) + '\n'); } };
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  const summary = await runClient(opts, ac.signal);
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(summary.joined && summary.endedBy !== 'error' ? 0 : 1);
}
