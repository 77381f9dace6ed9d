/**
 * The command line of SPEC §2, on the real built program: `--check` prints
 * every error with file and line and exits 1; a valid file exits 0; the
 * reflector starts on built-in defaults with no file, and SIGTERM ends it
 * gracefully with exit 0.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN_JS } from '../helpers/reflector-process.js';
import { useTempDir } from '../helpers/temp-dir.js';

describe('cli: reflector --check and start-up', function () {
  this.timeout(20_000);
  const tempDir = useTempDir('rtp-reflector-cli-');

  it('--check reports three mistakes with their line numbers and exits 1', () => {
    const file = join(tempDir(), 'bad.conf');
    writeFileSync(file, [
      '# a file with three mistakes',
      'LISTEN_ADDRESS 127.0.0.9',
      'AUDIO_PORT 70000',          // line 3: out of range
      'SIP_AUTH maybe',            // line 4: not on/off
      'FROBNICATE yes',            // line 5: unknown keyword
      'VIDEO_PORT 5568',
    ].join('\n') + '\n');
    const r = spawnSync(process.execPath, [MAIN_JS, '--check', file], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).to.equal(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`) && /:\d+:/.test(l));
    expect(lines, r.stderr).to.have.length(3);
    expect(lines[0]).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: AUDIO_PORT: `));
    expect(lines[1]).to.contain(':4: SIP_AUTH: ');
    expect(lines[2]).to.contain(':5: FROBNICATE: ');
  });

  it('--check accepts a valid file and exits 0', () => {
    const file = join(tempDir(), 'good.conf');
    writeFileSync(file, 'LISTEN_ADDRESS 127.0.0.9\nSIP_AUTH on\nSIP_USER alice secret\nREFLECTOR_INTERCONNECTION 127.0.0.10 5564\n');
    const r = spawnSync(process.execPath, [MAIN_JS, '--config', file, '--check'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('OK');
  });

  it('rejects unknown arguments with usage and exit 2', () => {
    const r = spawnSync(process.execPath, [MAIN_JS, '--frobnicate'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('usage: reflector');
  });

  it('starts on built-in defaults with no configuration file and exits 0 on SIGTERM', async () => {
    // cwd is an empty directory: no ./reflector.conf, so every key takes its built-in default.
    const proc = spawn(process.execPath, [MAIN_JS], { cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line:\n${out}`)), 10_000);
        const check = (): void => { if (out.includes('"event":"ready"')) { clearTimeout(timer); resolve(); } };
        proc.stdout.on('data', check);
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited ${code} before ready:\n${out}`)); });
      });
      const ready = JSON.parse(out.split('\n').find((l) => l.includes('"event":"ready"')) ?? '{}') as Record<string, unknown>;
      expect(ready.config).to.equal('defaults');
      expect(ready.sipPort).to.equal(5060);
      expect(ready.audioPort).to.equal(5566);
      expect(ready.videoPort).to.equal(5568);
      expect(ready.peers).to.equal(0);
      const t0 = Date.now();
      proc.kill('SIGTERM');
      const code = await exited;
      expect(code, out).to.equal(0);
      expect(Date.now() - t0).to.be.lessThan(5000);
      expect(out).to.contain('"event":"stopped"');
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });
});
