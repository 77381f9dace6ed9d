/**
 * A reflector killed with SIGKILL never runs its close(), so its spool files stay. The next start sweeps
 * files of our own naming whose pid no longer runs, and leaves those of live processes (several
 * reflectors may share one FILE_SPOOL_DIR) and anything not ours.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSpool } from '../../src/proxy/file-spool.js';

describe('file spool: files left by a dead reflector process are swept', () => {
  let dir = '';
  afterEach(async () => { if (dir !== '') await rm(dir, { recursive: true, force: true }); dir = ''; });

  it('removes rflx-<dead pid>-… files only', async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-sweep-'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    expect(deadPid).to.be.greaterThan(0);
    const names = [
      `rflx-${deadPid}-aaaaaaaaaaaa-00000001`, `rflx-${deadPid}-bbbbbbbbbbbb-0000abcd`,
      `rflx-${process.pid}-cccccccccccc-00000002`, 'rflx-1-dddddddddddd-00000003', 'notes.txt', `rflx-${deadPid}-x`,
    ];
    for (const n of names) await writeFile(join(dir, n), 'x');
    const spool = new FileSpool({ dir, maxBytes: 1 << 20, ttlMs: 60_000 });
    expect(await spool.sweepStale()).to.equal(2);
    expect((await readdir(dir)).sort()).to.deep.equal([names[2], names[3], names[4], names[5]].sort());
    await spool.close();
  });
});
