/**
 * Conference client (SPEC §11): joins a session by name over SIP UDP (digest
 * MD5 or SHA-256), sends PCMU at 20 ms from a tone or a WAV file (S16LE mono
 * 8 kHz), sends RTCP SR + SDES every second, records what it receives per SSRC,
 * hangs up after --duration seconds and prints a JSON summary.
 *
 *   node dist/tools/client.js --server 127.0.0.1:5060 --session "weekly review" \
 *     [--local 127.0.0.1] [--user U --password P] [--tone 1000 | --wav in.wav] \
 *     [--duration 10] [--record-dir DIR] [--mode mix|reflect]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as sdpTransform from 'sdp-transform';
import { clientSdp, MediaEndpoint, writeWavS16Mono } from './lib/media.js';
import { SipUdpClient } from './lib/sip-client.js';

export interface ClientSummary {
  session: string;
  joined: boolean;
  statuses: number[];
  algorithm?: string;
  ssrc: number;
  sentPackets: number;
  received: { ssrc: number; packets: number; bytes: number; payloadType: number; rtcpPackets: number; cname?: string; wav?: string }[];
  endedBy: 'client' | 'reflector' | 'error';
  byeStatus?: number;
  error?: string;
}

export interface ClientOptions {
  server: string;
  serverPort: number;
  session: string;
  local: string;
  user?: string;
  password?: string;
  toneHz?: number;
  wavPath?: string;
  durationS: number;
  recordDir?: string;
  mode?: 'mix' | 'reflect';
}

export async function runClient(o: ClientOptions, signal?: AbortSignal): Promise<ClientSummary> {
  const sip = new SipUdpClient({
    localAddress: o.local, server: o.server, serverPort: o.serverPort,
    ...(o.user !== undefined ? { user: o.user } : {}), ...(o.password !== undefined ? { password: o.password } : {}),
  });
  const cname = `${o.user ?? 'client'}@${o.local}`;
  const media = new MediaEndpoint({
    localAddress: o.local, remoteAddress: o.server, remoteRtpPort: 0, cname,
    ...(o.toneHz !== undefined ? { toneHz: o.toneHz } : {}), ...(o.wavPath !== undefined ? { wavPath: o.wavPath } : {}),
    record: o.recordDir !== undefined,
  });
  const summary: ClientSummary = { session: o.session, joined: false, statuses: [], ssrc: media.ssrc, sentPackets: 0, received: [], endedBy: 'client' };
  try {
    await sip.bind();
    const rtpPort = await media.bind();
    const res = await sip.invite(o.session, clientSdp(o.local, rtpPort, media.ssrc, cname), o.mode !== undefined ? `;mode=${o.mode}` : '');
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
    media.setRemote(audio.connection?.ip ?? answer.connection?.ip ?? o.server, audio.port);
    media.start();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.durationS * 1000);
      const stop = (): void => { clearTimeout(t); resolve(); };
      sip.once('bye', () => { summary.endedBy = 'reflector'; stop(); });
      signal?.addEventListener('abort', stop, { once: true });
    });
    if (summary.endedBy === 'client') summary.byeStatus = await sip.bye();
  } catch (err) {
    summary.endedBy = 'error';
    summary.error = err instanceof Error ? err.message : String(err);
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
    sip.close();
  }
  return summary;
}

function parseCli(argv: string[]): ClientOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' }, session: { type: 'string' }, local: { type: 'string' },
      user: { type: 'string' }, password: { type: 'string' }, tone: { type: 'string' }, wav: { type: 'string' },
      duration: { type: 'string' }, 'record-dir': { type: 'string' }, mode: { type: 'string' },
    },
  });
  if (values.server === undefined || values.session === undefined) throw new Error('usage: client --server HOST[:PORT] --session NAME [--local IP] [--user U --password P] [--tone HZ | --wav FILE] [--duration S] [--record-dir DIR] [--mode mix|reflect]');
  const m = /^(.*?)(?::(\d+))?$/.exec(values.server);
  const server = m?.[1] ?? values.server;
  const mode = values.mode;
  if (mode !== undefined && mode !== 'mix' && mode !== 'reflect') throw new Error('--mode must be mix or reflect');
  return {
    server, serverPort: m?.[2] !== undefined ? Number(m[2]) : 5060, session: values.session,
    local: values.local ?? '127.0.0.1',
    ...(values.user !== undefined ? { user: values.user } : {}), ...(values.password !== undefined ? { password: values.password } : {}),
    ...(values.wav !== undefined ? { wavPath: values.wav } : { toneHz: values.tone !== undefined ? Number(values.tone) : 440 }),
    durationS: values.duration !== undefined ? Number(values.duration) : 10,
    ...(values['record-dir'] !== undefined ? { recordDir: values['record-dir'] } : {}),
    ...(mode !== undefined ? { mode } : {}),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  let opts: ClientOptions;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  const summary = await runClient(opts, ac.signal);
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(summary.joined && summary.endedBy !== 'error' ? 0 : 1);
}
