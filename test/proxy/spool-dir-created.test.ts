/**
 * FILE_SPOOL_DIR that does not exist yet is created at start (mode 0700), so a
 * FILE_REQUEST is granted instead of being refused as "spool full" (507).
 * Real core and proxy on 127.0.9.60.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { putFile } from '../../tools/lib/proxy-client.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.9.60';

describe('proxy: spool directory', function () {
  this.timeout(30_000);
  const h = useProxyHarness();

  it('creates a missing FILE_SPOOL_DIR and grants uploads into it', async () => {
    const parent = await h.tempDir('proxy-spool-parent-');
    const spool = join(parent, 'not', 'yet', 'there');
    const at = await h.reflector(R, { config: { fileSpoolDir: spool } });
    const st = await stat(spool);
    expect(st.isDirectory()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o700);

    const { rflx } = await h.participant(at, '127.0.9.61', { session: 'spool dir', ssrc: 0x6161, user: 'u' });
    const body = Buffer.from('hello spool');
    const g = await rflx.requestFile('hello.txt', body.length, createHash('sha256').update(body).digest());
    const answer = await putFile({ host: g.address, port: g.port }, { id: g.fileId, passkey: g.passkey }, body, 5000);
    expect(answer).to.equal(createHash('sha256').update(body).digest('hex'));
  });
});
