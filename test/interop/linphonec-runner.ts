/**
 * Runs headless linphonec 5.1 (Debian linphone-cli) for interop tests (see
 * /work/shared/INTEROP.md): its own HOME and rc file in a temp dir, commands
 * on stdin, SIP over TLS only (it cannot be a TLS server: sip_tls_port is its
 * client side), SRTP as asked, audio from a WAV file and recorded to a WAV
 * file. Stopped by PID ("quit", then SIGTERM, then SIGKILL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LinphonecOptions {
  /** Its local SIP/TLS port on 127.0.0.1 (unusual, per test). */
  readonly sipTlsPort: number;
  readonly rtpPort: number;
  readonly user: string;
  /** SRTP: mandatory (RTP/SAVP only), optional (SAVP, retries AVP after 488), none. */
  readonly srtp: 'mandatory' | 'optional' | 'none';
  readonly playWav: string;
}

export interface Linphonec {
  readonly proc: ChildProcess;
  readonly dir: string;
  /** Where `record` writes what it hears. */
  readonly recordWav: string;
  output(): string;
  send(command: string): void;
  waitFor(text: string, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<Linphonec>();

export function linphonecAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v linphonec'], { encoding: 'utf8' }).status === 0;
}

const CODECS: readonly [string, number, number][] = [
  ['PCMU', 8000, 1], ['PCMA', 8000, 1], ['speex', 32000, 1], ['speex', 16000, 1], ['speex', 8000, 1], ['opus', 48000, 2],
  ['G722', 8000, 1], ['GSM', 8000, 1], ['iLBC', 8000, 1], ['SILK', 16000, 1], ['SILK', 8000, 1], ['BV16', 8000, 1],
  ['L16', 44100, 2], ['L16', 44100, 1], ['telephone-event', 8000, 1], ['telephone-event', 48000, 1],
];

export function startLinphonec(o: LinphonecOptions): Linphonec {
  if (!linphonecAvailable()) throw new Error('linphonec is not installed (apt-get install linphone-cli)');
  const dir = mkdtempSync('/tmp/lp-');
  const home = join(dir, 'home');
  // Without this directory its database fails to open and no SIP listening point exists (INTEROP.md).
  mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
  const rc = join(dir, 'rc');
  const lines = [
    '[sip]', 'sip_port=0', 'sip_tcp_port=0', `sip_tls_port=${o.sipTlsPort}`, 'bind_address=127.0.0.1',
    'use_ipv6=0', 'ipv6_migration_done=1', `contact="${o.user}" <sip:${o.user}@127.0.0.1>`,
    `media_encryption=${o.srtp === 'none' ? 'none' : 'srtp'}`, `media_encryption_mandatory=${o.srtp === 'mandatory' ? 1 : 0}`,
    // The reflector's test certificate is self-signed (made by the test).
    'verify_server_certs=0', 'verify_server_cn=0',
    '', '[rtp]', 'bind_address=127.0.0.1', `audio_rtp_port=${o.rtpPort}`,
    '', '[sound]', 'echocancellation=0', '',
  ];
  CODECS.forEach(([mime, rate, ch], i) => {
    lines.push(`[audio_codec_${i}]`, `mime=${mime}`, `rate=${rate}`, `channels=${ch}`, `enabled=${mime === 'PCMU' ? 1 : 0}`, '');
  });
  writeFileSync(rc, lines.join('\n'));
  const recordWav = join(dir, 'rec.wav');
  const proc = spawn('linphonec', ['-c', rc, '-d', '5', '-l', join(dir, 'log')], {
    cwd: dir, env: { ...process.env, HOME: home }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer): void => {
    if (out.length < 500_000) out += c.toString('utf8');
    for (const l of [...listeners]) l();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.stdin?.on('error', () => { /* closed at exit */ });
  let exited = false;
  const exit = new Promise<void>((resolve) => { proc.on('close', () => { exited = true; for (const l of [...listeners]) l(); resolve(); }); });
  proc.on('error', (e) => { out += `\nspawn error: ${e.message}`; });
  const l: Linphonec = {
    proc, dir, recordWav,
    output: () => out,
    send(command) { if (!exited) proc.stdin?.write(`${command}\n`); },
    waitFor(text, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (out.includes(text)) { done(); resolve(); } else if (exited) { done(); reject(new Error(`linphonec exited before "${text}":\n${out}`)); }
        };
        const t = setTimeout(() => { done(); reject(new Error(`timed out waiting for "${text}":\n${out}`)); }, timeoutMs);
        const done = (): void => { clearTimeout(t); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (!exited && proc.pid !== undefined) {
        l.send('terminate');
        l.send('quit');
        const t1 = setTimeout(() => { if (!exited) proc.kill('SIGTERM'); }, 3000);
        const t2 = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 6000);
        await exit;
        clearTimeout(t1);
        clearTimeout(t2);
      }
      running.delete(l);
    },
  };
  l.send('soundcard use files');
  l.send(`play ${o.playWav}`);
  l.send(`record ${recordWav}`);
  running.add(l);
  return l;
}

export async function stopAllLinphonec(): Promise<void> {
  const all = [...running];
  await Promise.all(all.map((x) => x.stop()));
  for (const x of all) rmSync(x.dir, { recursive: true, force: true });
}
