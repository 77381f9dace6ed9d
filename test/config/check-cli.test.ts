import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode, type NodeRun } from '../helpers/node-process.js';
import { MAIN_JS } from '../helpers/reflector-process.js';
import { useTempDir } from '../helpers/temp-dir.js';

const EXAMPLE = fileURLToPath(new URL('../../../reflector.conf.example', import.meta.url));

/** Runs `node dist/src/main.js ...args` to completion (killed after 15 s). */
function run(args: string[]): Promise<NodeRun> {
  return runNode(MAIN_JS, args, { timeoutMs: 15_000, cwd: tmpdir() });
}

describe('reflector --check (real process)', () => {
  const tempDir = useTempDir('cfg-cli-');

  it('prints FILE: OK and exits 0 for the shipped example', async () => {
    const r = await run(['--check', '--config', EXAMPLE]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`${EXAMPLE}: OK\n`);
  });

  it('prints every issue as FILE:LINE: KEYWORD: message on stderr and exits 1', async () => {
    const file = join(tempDir(), 'bad.conf');
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
