/**
 * linphonec 5.1 (Debian `linphone-cli`) driven headless for interop tests, with ICE
 * and TURN through a `[nat_policy_0]` (see shared INTEROP.md): commands go to its stdin,
 * its transcript is read from stdout; it plays a WAV file and records what it hears.
 *
 * Pitfalls handled here: $HOME/.local/share/linphone must exist (its database), the
 * nat policy must also be referenced from a non-registering `[proxy_0]` account (only
 * through an account does it find the TURN credentials in `[auth_info_0]`), IPv6 off
 * with the migration flag, and every codec it knows listed (else it adds them back).
 */
import { spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LinphoneTurn {
  /** TURN server address:port. */
  readonly server: string;
  /** TURN over TCP (default) or TLS (no certificate verification by linphonec here). */
  readonly transport?: 'tcp' | 'tls';
  readonly username: string;
  readonly password: string;
  readonly realm: string;
}

export interface LinphoneOptions {
  readonly dir: string;
  /** Address for SIP and media (also the c= address). */
  readonly ip: string;
  readonly sipTcpPort: number;
  readonly rtpPort: number;
  /** ICE with TURN over TCP; absent = no ICE. */
  readonly turn?: LinphoneTurn;
  /** Starts the process (e.g. inside a namespace); gets linphonec's argv and env. */
  readonly spawn: (cmd: string, args: readonly string[], opts: SpawnOptions) => ChildProcess;
}

export interface Linphone {
  readonly proc: ChildProcess;
  readonly recording: string;
  readonly logFile: string;
  send(command: string): void;
  /** Resolves when the transcript contains `text` (rejects after timeoutMs). */
  waitFor(text: string | RegExp, timeoutMs: number): Promise<void>;
  transcript(): string;
  /** `terminate`, `quit`, then SIGKILL if it has not exited after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export function linphoneAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v linphonec'], { encoding: 'utf8' }).status === 0;
}

const CODECS: readonly [string, number, number, boolean][] = [
  ['PCMU', 8000, 1, true], ['PCMA', 8000, 1, false], ['speex', 16000, 1, false], ['speex', 8000, 1, false],
  ['speex', 32000, 1, false], ['opus', 48000, 2, false], ['G722', 8000, 1, false], ['GSM', 8000, 1, false],
  ['G729', 8000, 1, false], ['iLBC', 8000, 1, false], ['AMR', 8000, 1, false], ['BV16', 8000, 1, false],
  ['L16', 44100, 2, false], ['L16', 44100, 1, false], ['telephone-event', 8000, 1, true], ['telephone-event', 48000, 1, false],
];

function rcText(o: LinphoneOptions): string {
  const lines = [
    '[sip]', 'sip_port=0', `sip_tcp_port=${o.sipTcpPort}`, 'sip_tls_port=0', `bind_address=${o.ip}`,
    'use_ipv6=0', 'ipv6_migration_done=1', `contact="alice" <sip:alice@${o.ip}>`, ...(o.turn ? ['default_proxy=0'] : []), '',
    '[rtp]', `audio_rtp_port=${o.rtpPort}`, `bind_address=${o.ip}`, '',
  ];
  if (o.turn !== undefined) {
    lines.push(
      '[net]', 'nat_policy_ref=np1', '',
      '[nat_policy_0]', 'ref=np1', `stun_server=${o.turn.server}`, `stun_server_username=${o.turn.username}`,
      'protocols=stun,turn,ice', 'turn_enable_udp=0',
      `turn_enable_tcp=${o.turn.transport === 'tls' ? 0 : 1}`, `turn_enable_tls=${o.turn.transport === 'tls' ? 1 : 0}`, '',
      '[proxy_0]', `reg_proxy=<sip:${o.ip};transport=tcp>`, `reg_identity="alice" <sip:alice@${o.ip}>`,
      'reg_sendregister=0', 'nat_policy_ref=np1', `realm=${o.turn.realm}`, '',
      '[auth_info_0]', `username=${o.turn.username}`, `passwd=${o.turn.password}`, `realm=${o.turn.realm}`, '',
    );
  }
  CODECS.forEach(([mime, rate, channels, enabled], i) => {
    lines.push(`[audio_codec_${i}]`, `mime=${mime}`, `rate=${rate}`, `channels=${channels}`, `enabled=${enabled ? 1 : 0}`, '');
  });
  return lines.join('\n');
}

/** Starts linphonec, plays `wav` (absolute path, 8 kHz mono) and records into dir/rec.wav once `call()` is sent. */
export function startLinphone(o: LinphoneOptions): Linphone {
  const home = join(o.dir, 'home');
  mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
  const rc = join(o.dir, 'linphonerc');
  writeFileSync(rc, rcText(o));
  const logFile = join(o.dir, 'linphone.log');
  const proc = o.spawn('linphonec', ['-c', rc, '-d', '5', '-l', logFile], {
    env: { ...process.env, HOME: home },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    if (text.length < 1_000_000) text += chunk.toString('utf8');
    for (const w of [...waiters]) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.stdin?.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const send = (command: string): void => {
    if (proc.stdin?.writable === true) proc.stdin.write(`${command}\n`);
  };
  return {
    proc,
    recording: join(o.dir, 'rec.wav'),
    logFile,
    send,
    transcript: () => text,
    waitFor(pattern, timeoutMs) {
      const has = (): boolean => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
      if (has()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!has()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`linphonec: no ${String(pattern)} within ${timeoutMs} ms; transcript:\n${text.slice(-2000)}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async stop(graceMs = 3000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      send('terminate');
      await new Promise((r) => setTimeout(r, 500));
      send('quit');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
