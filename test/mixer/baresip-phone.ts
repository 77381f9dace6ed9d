/**
 * Headless baresip 1.0 phones for the mixer interop tests (see
 * /work/shared/INTEROP.md), with a choice of codecs: g711, g722 and opus modules,
 * aufile as the source, sndfile recording what the phone decodes. Runs on
 * 127.0.0.1 (baresip's RTP socket binds the wildcard address, so its media
 * leaves from 127.0.0.1 whatever net_interface says). Stopped by PID: SIGTERM
 * (BYE), then SIGKILL after 3 s.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PhoneOptions {
  readonly sipPort: number;
  readonly rtpPorts: readonly [number, number];
  /** S16LE WAV at the codec's sample rate and channels (8 kHz mono G.711, 16 kHz mono G.722, 48 kHz stereo opus). */
  readonly sourceWav: string;
  readonly dial: string;
  /** baresip audio_codecs, e.g. ['PCMA/8000'] or ['G722/16000']. */
  readonly codecs: readonly string[];
  readonly user: string;
  readonly domain: string;
}

export interface Phone {
  readonly proc: ChildProcess;
  readonly dir: string;
  output(): string;
  waitFor(text: string, timeoutMs: number): Promise<void>;
  /** The sndfile recording of decoded audio, if any. */
  decodedWav(): string | undefined;
  recordedBytes(): number;
  stop(): Promise<void>;
}

const running = new Set<Phone>();

export function baresipInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v baresip && test -f /usr/lib/baresip/modules/g722.so'], { encoding: 'utf8' }).status === 0;
}

export function startPhone(o: PhoneOptions): Phone {
  if (!baresipInstalled()) throw new Error('baresip (with the g722 module) is not installed: apt-get install baresip-core');
  const dir = mkdtempSync('/tmp/mx-'); // short: sndfile builds its path in a 128-byte buffer
  const rec = join(dir, 'r');
  mkdirSync(rec);
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method poll',
      `sip_listen 127.0.0.1:${o.sipPort}`,
      'net_interface 127.0.0.1',
      `rtp_ports ${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
      'audio_player none,none',
      `audio_source aufile,${o.sourceWav}`,
      'audio_alert none,none',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module g722.so',
      'module opus.so',
      'module aufile.so',
      'module sndfile.so',
      'module account.so',
      'module menu.so',
      `snd_path ${rec}`,
      'statmode_default off',
      'ringback_disabled yes',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'accounts'),
    `<sip:${o.user}@${o.domain}>;regint=0;answermode=manual;audio_codecs=${o.codecs.join(',')}\n`,
  );
  const proc = spawn('stdbuf', ['-oL', 'baresip', '-4', '-f', dir, '-e', `/dial ${o.dial}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  const listeners = new Set<() => void>();
  const onData = (c: Buffer): void => {
    if (out.length < 500_000) out += c.toString('utf8');
    for (const l of [...listeners]) l();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.on('error', (e) => {
    out += `\nspawn error: ${e.message}`;
  });
  const exit = new Promise<void>((resolve) => {
    proc.on('close', () => {
      exited = true;
      for (const l of [...listeners]) l();
      resolve();
    });
  });
  const phone: Phone = {
    proc,
    dir,
    output: () => out,
    waitFor(text, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        const check = (): void => {
          if (out.includes(text)) {
            done();
            resolve();
          } else if (exited) {
            done();
            reject(new Error(`baresip exited before "${text}":\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for "${text}":\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    decodedWav() {
      const f = readdirSync(rec).find((n) => n.endsWith('-dec.wav'));
      return f !== undefined ? join(rec, f) : undefined;
    },
    recordedBytes() {
      const f = phone.decodedWav();
      if (f === undefined) return 0;
      try {
        return statSync(f).size;
      } catch {
        return 0;
      }
    },
    async stop() {
      if (!exited && proc.pid !== undefined) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => {
          if (!exited) proc.kill('SIGKILL');
        }, 3000);
        await exit;
        clearTimeout(t);
      }
      running.delete(phone);
    },
  };
  running.add(phone);
  return phone;
}

export async function stopAllPhones(): Promise<void> {
  const all = [...running];
  await Promise.all(all.map((p) => p.stop()));
  for (const p of all) rmSync(p.dir, { recursive: true, force: true });
}
