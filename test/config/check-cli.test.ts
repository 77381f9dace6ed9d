import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN_JS = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../reflector.conf.example', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `node dist/src/main.js ...args` to completion (killed after 15 s). */
function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, ...args], { timeout: 15000, cwd: tmpdir() }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('reflector --check (real process)', () => {
  let dir = '';
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'cfg-cli-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('prints FILE: OK and exits 0 for the shipped example', async () => {
    const r = await run(['--check', '--config', EXAMPLE]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`${EXAMPLE}: OK\n`);
  });

  it('prints every issue as FILE:LINE: KEYWORD: message on stderr and exits 1', async () => {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, 'REFLECTOR_ID ok\nAUDIO_PORT 99999\n# x\nLOG_LEVEL loud\nNOT_A_KEYWORD 1\n');
    for (const args of [['--check', '--config', file], ['--check', file]]) {
      const r = await run(args);
      expect(r.code).to.equal(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`) && /^[^:]+:\d+: /.test(l));
      expect(lines.map((l) => l.split(': ')[0])).to.deep.equal([`${file}:2`, `${file}:4`, `${file}:5`]);
      expect(lines[0]).to.match(/^[^:]+:2: AUDIO_PORT: expected /);
    }
  });
});
