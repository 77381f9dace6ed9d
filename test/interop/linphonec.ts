/**
 * Runs headless linphonec 5.1 (package linphone-cli; facts in /work/shared/INTEROP.md): its own
 * HOME (liblinphone needs $HOME/.local/share/linphone or it creates no SIP listening point), a
 * config with UDP SIP and media on one loopback address, every codec it knows listed with only the
 * wanted ones enabled (else it adds them back), RFC 4733 DTMF, digest credentials without
 * REGISTER; `soundcard use files` so no sound device is needed. Commands go to its stdin; its
 * stdout is the transcript (`connected.`, `ended`, `error.`), its `-l` log file holds the SIP
 * messages at debug level 5. Stopped by PID (terminate + quit, then SIGTERM, then SIGKILL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watchChild } from './watched-child.js';

/** The audio codecs linphonec 5.1 knows, as its config lists them (mime, rate, channels). */
const KNOWN_CODECS: readonly [string, number, number][] = [
  ['opus', 48000, 2], ['speex', 16000, 1], ['speex', 8000, 1], ['PCMU', 8000, 1], ['PCMA', 8000, 1],
  ['GSM', 8000, 1], ['G722', 8000, 1], ['G729', 8000, 1], ['speex', 32000, 1], ['G726-16', 8000, 1],
  ['G726-24', 8000, 1], ['G726-32', 8000, 1], ['G726-40', 8000, 1], ['AAL2-G726-16', 8000, 1],
  ['AAL2-G726-24', 8000, 1], ['AAL2-G726-32', 8000, 1], ['AAL2-G726-40', 8000, 1], ['L16', 44100, 2], ['L16', 44100, 1],
];

export interface LinphonecOptions {
  /** Loopback address for SIP and media (its c= address). */
  readonly address: string;
  readonly sipPort: number;
  readonly rtpPort: number;
  readonly user: string;
  readonly password?: string;
  /** Enabled codecs as "mime/rate", in preference order, e.g. ['opus/48000'] or ['opus/48000', 'speex/16000', 'PCMU/8000']. */
  readonly codecs: readonly string[];
  /**
   * Its local SIP/TLS port (the client side: linphonec cannot be a TLS server). The reflector's test
   * certificate is self-signed, so server verification is off.
   */
  readonly sipTlsPort?: number;
  /** SRTP: mandatory (RTP/SAVP only), optional (SAVP, retries AVP after a 488), none (default). */
  readonly srtp?: 'mandatory' | 'optional' | 'none';
  /** Plays this WAV as its microphone and records what it hears to `recordWav` (`soundcard use files`). */
  readonly playWav?: string;
}

export interface Linphonec {
  readonly proc: ChildProcess;
  readonly dir: string;
  /** Where `record` writes what it hears (with `playWav`). */
  readonly recordWav: string;
  send(command: string): void;
  transcript(): string;
  /** The -l debug log (SIP messages included). */
  log(): string;
  waitFor(text: string, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<Linphonec>();

export function linphonecAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v linphonec'], { encoding: 'utf8' }).status === 0;
}

export function startLinphonec(o: LinphonecOptions): Linphonec {
  if (!linphonecAvailable()) throw new Error('linphonec is not installed (apt-get install linphone-cli)');
  const dir = mkdtempSync('/tmp/lp-');
  const home = join(dir, 'home');
  mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
  const rc = join(dir, 'rc');
  const logFile = join(dir, 'log');
  const wanted = o.codecs.map((c) => c.toLowerCase());
  // Wanted codecs first, in the wanted order (linphone offers in config order), then the rest disabled.
  const ordered = [
    ...wanted.map((w) => KNOWN_CODECS.find(([m, r]) => `${m}/${r}`.toLowerCase() === w)).filter((c): c is [string, number, number] => c !== undefined),
    ...KNOWN_CODECS.filter(([m, r]) => !wanted.includes(`${m}/${r}`.toLowerCase())),
  ];
  const lines = [
    '[sip]',
    `sip_port=${o.sipPort}`, 'sip_tcp_port=0', `sip_tls_port=${o.sipTlsPort ?? 0}`,
    `bind_address=${o.address}`, 'use_ipv6=0', 'ipv6_migration_done=1',
    `contact="${o.user}" <sip:${o.user}@${o.address}>`,
    'use_info=0', 'use_rfc2833=1', 'inc_timeout=30', 'guess_hostname=0',
    `media_encryption=${(o.srtp ?? 'none') === 'none' ? 'none' : 'srtp'}`, `media_encryption_mandatory=${o.srtp === 'mandatory' ? 1 : 0}`,
    ...(o.sipTlsPort !== undefined ? ['verify_server_certs=0', 'verify_server_cn=0'] : []),
    '[rtp]',
    `bind_address=${o.address}`, `audio_rtp_port=${o.rtpPort}`, 'audio_jitt_comp=60',
    '[sound]', 'echocancellation=0',
    '[video]', 'enabled=0', 'capture=0', 'display=0',
  ];
  if (o.password !== undefined) {
    lines.push('[auth_info_0]', `username=${o.user}`, `passwd=${o.password}`, `realm=`, `domain=`);
  }
  ordered.forEach(([mime, rate, channels], i) => {
    const enabled = wanted.includes(`${mime}/${rate}`.toLowerCase()) ? 1 : 0;
    lines.push(`[audio_codec_${i}]`, `mime=${mime}`, `rate=${rate}`, `channels=${channels}`, `enabled=${enabled}`);
  });
  writeFileSync(rc, lines.join('\n') + '\n');
  const proc = spawn('linphonec', ['-c', rc, '-d', '5', '-l', logFile], {
    cwd: dir,
    env: { ...process.env, HOME: home },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const child = watchChild(proc, 500_000);
  proc.stdin?.on('error', () => undefined);
  const recordWav = join(dir, 'rec.wav');
  const l: Linphonec = {
    proc,
    dir,
    recordWav,
    send(command) {
      if (!child.exited()) proc.stdin?.write(`${command}\n`);
    },
    transcript: () => child.text(),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async waitFor(text, timeoutMs) {
      await child.waitFor((out) => (out.includes(text) ? true : undefined), timeoutMs, {
        exited: () => `linphonec exited before "${text}":\n${child.text().slice(-3000)}`,
        timeout: () => `timed out waiting for "${text}" from linphonec:\n${child.text().slice(-3000)}`,
      });
    },
    async stop() {
      if (!child.exited() && proc.pid !== undefined) {
        l.send('terminate');
        l.send('quit');
      }
      await child.stop([[3000, 'SIGTERM'], [6000, 'SIGKILL']]);
      running.delete(l);
    },
  };
  if (o.playWav !== undefined) {
    l.send('soundcard use files');
    l.send(`play ${o.playWav}`);
    l.send(`record ${recordWav}`);
  }
  running.add(l);
  return l;
}

export async function stopAllLinphonec(): Promise<void> {
  const all = [...running];
  await Promise.all(all.map((l) => l.stop()));
  for (const l of all) rmSync(l.dir, { recursive: true, force: true });
}

/** The SDP bodies of the INVITEs linphonec sent and of the 200 OKs it received, from its log. */
export function sdpExchange(log: string): { offers: string[]; answers: string[] } {
  const offers: string[] = [];
  const answers: string[] = [];
  // Messages are logged whole; split on the start lines and keep the SDP part (from v=0 on).
  const re = /(INVITE sip:[^\r\n]* SIP\/2\.0|SIP\/2\.0 200 OK)\r?\n([\s\S]*?)(?=\r?\n(?:INVITE |ACK |BYE |SIP\/2\.0 |[0-9-]+ [0-9:]+:[0-9]+ )|$)/g;
  for (const m of log.matchAll(re)) {
    const body = m[2];
    const v = body.indexOf('v=0');
    if (v < 0 || !/Content-Type:\s*application\/sdp/i.test(body)) continue;
    const sdp = body.slice(v);
    if (m[1].startsWith('INVITE')) offers.push(sdp);
    else if (/CSeq:\s*\d+\s+INVITE/i.test(body)) answers.push(sdp);
  }
  return { offers, answers };
}
