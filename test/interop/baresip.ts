/**
 * Runs headless baresip 1.0 processes (see /work/shared/INTEROP.md): a config
 * directory with g711, aufile (source), sndfile (recording), account, menu;
 * dials one URI at start. Stopped by PID (SIGTERM → BYE, then SIGKILL).
 *
 * baresip binds its RTP socket to the wildcard address, so on loopback its
 * media leaves from 127.0.0.1 whatever `net_interface` says; it therefore runs
 * on 127.0.0.1 (distinct, unusual ports) so that its SDP address matches the
 * source of its media (the reflector's latching rule, SPEC §5).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watchChild } from './watched-child.js';

export interface BaresipOptions {
  /** SIP port on 127.0.0.1; baresip also binds port+1 (TLS). */
  readonly sipPort: number;
  readonly rtpPorts: readonly [number, number];
  readonly sourceWav: string;
  readonly dial: string;
  readonly user: string;
  /** Digest password; without it the account carries no credentials. */
  readonly password?: string;
  /** baresip audio_codecs, e.g. ['PCMA/8000'], ['G722/16000'], ['opus/48000/2']; PCMU/8000 by default. */
  readonly codecs?: readonly string[];
  readonly domain: string;
  /** Extra modules, e.g. ['srtp.so'] (SPEC §15). */
  readonly modules?: readonly string[];
  /** Extra account parameters, e.g. ';mediaenc=srtp-mand'. */
  readonly accountParams?: string;
}

export interface Baresip {
  readonly proc: ChildProcess;
  readonly dir: string;
  output(): string;
  /** Resolves when the output contains `text`; rejects after timeoutMs or on exit. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
  /** The sndfile recording of received audio, if any. */
  decodedWav(): string | undefined;
  /** Size of that recording in bytes (0 while there is none). */
  recordedBytes(): number;
  stop(): Promise<void>;
}

const running = new Set<Baresip>();
/** Every baresip started since the last stopAllBaresip(): their directories are removed there. */
const created = new Set<Baresip>();

/** baresip with the codec modules the tests load (g711, g722, opus). */
export function baresipAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v baresip && test -f /usr/lib/baresip/modules/g722.so && test -f /usr/lib/baresip/modules/opus.so'], { encoding: 'utf8' }).status === 0;
}

export function startBaresip(o: BaresipOptions): Baresip {
  if (!baresipAvailable()) throw new Error('baresip with its g711, g722 and opus modules is not installed (apt-get install baresip-core)');
  // Short path: sndfile builds its file name in a 128-byte buffer.
  const dir = mkdtempSync('/tmp/bs-');
  const rec = join(dir, 'r');
  mkdirSync(rec);
  writeFileSync(join(dir, 'config'), [
    'poll_method poll',
    `sip_listen 127.0.0.1:${o.sipPort}`,
    'net_interface 127.0.0.1',
    `rtp_ports ${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
    'audio_player none,none',
    `audio_source aufile,${o.sourceWav}`,
    'audio_alert none,none',
    'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module g722.so', 'module opus.so',
    'module aufile.so', 'module sndfile.so',
    // Before account.so: an account's mediaenc must name a loaded module.
    ...(o.modules ?? []).map((m) => `module ${m}`),
    'module account.so', 'module menu.so',
    `snd_path ${rec}`,
    'statmode_default off',
    'ringback_disabled yes',
    '',
  ].join('\n'));
  const auth = o.password !== undefined ? `;auth_user=${o.user};auth_pass=${o.password}` : '';
  const codecs = (o.codecs ?? ['PCMU/8000']).join(',');
  writeFileSync(join(dir, 'accounts'),
    `<sip:${o.user}@${o.domain}>${auth};regint=0;answermode=manual;audio_codecs=${codecs}${o.accountParams ?? ''}\n`);
  const proc = spawn('stdbuf', ['-oL', 'baresip', '-4', '-f', dir, '-e', `/dial ${o.dial}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = watchChild(proc, 500_000);
  const b: Baresip = {
    proc, dir,
    output: () => child.text(),
    async waitFor(text, timeoutMs) {
      await child.waitFor((out) => (out.includes(text) ? true : undefined), timeoutMs, {
        exited: () => `baresip exited before "${text}":\n${child.text()}`,
        timeout: () => `timed out waiting for "${text}":\n${child.text()}`,
      });
    },
    decodedWav() {
      const f = readdirSync(rec).find((n) => n.endsWith('-dec.wav'));
      return f !== undefined ? join(rec, f) : undefined;
    },
    recordedBytes: () => fileSize(b.decodedWav()),
    async stop() {
      await child.stop([[0, 'SIGTERM'], [3000, 'SIGKILL']]);
      running.delete(b);
    },
  };
  running.add(b);
  created.add(b);
  return b;
}

/** Bytes of a file, 0 if missing. */
export function fileSize(path: string | undefined): number {
  if (path === undefined) return 0;
  try { return statSync(path).size; } catch { return 0; }
}

/**
 * Stops every baresip still running and removes the directory of every one started since the last
 * call (stop() keeps it, so that a test can read the recording after the phone has hung up).
 */
export async function stopAllBaresip(): Promise<void> {
  await Promise.all([...running].map((b) => b.stop()));
  for (const b of created) rmSync(b.dir, { recursive: true, force: true });
  created.clear();
}
