/**
 * FILE_SPOOL_DIR that does not exist yet is created at start (mode 0700), so a
 * FILE_REQUEST is granted instead of being refused as "spool full" (507).
 * Real core and proxy on 127.0.9.60.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy, type Proxy } from '../../src/proxy/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { putFile, RflxClient } from '../../tools/lib/proxy-client.js';
import { startCore, TestClient, type TestCore } from '../reflector/fixture.js';

const R = '127.0.9.60';

describe('proxy: spool directory', function () {
  this.timeout(30_000);
  let core: TestCore | null = null;
  let proxy: Proxy | null = null;
  let client: TestClient | null = null;
  let rflx: RflxClient | null = null;
  let parent = '';

  afterEach(async () => {
    rflx?.close();
    await proxy?.close();
    await core?.close();
    await client?.close();
    if (parent !== '') await rm(parent, { recursive: true, force: true });
    proxy = null; core = null; client = null; rflx = null; parent = '';
  });

  it('creates a missing FILE_SPOOL_DIR and grants uploads into it', async () => {
    parent = await mkdtemp(join(tmpdir(), 'proxy-spool-parent-'));
    const spool = join(parent, 'not', 'yet', 'there');
    const started = await startCore(R, { fileTransferPort: 0, fileSpoolDir: spool });
    core = started.core;
    proxy = createProxy({ config: started.config, logger: silentLogger(), core: started.core, interconnect: null });
    await proxy.start();
    const st = await stat(spool);
    expect(st.isDirectory()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o700);

    client = await TestClient.create('127.0.9.61');
    client.join(started.core, 'spool dir', [client.stream({ ssrcs: [0x6161] })], { user: 'u' }, client.ip);
    rflx = new RflxClient(client.rtcp.socket, { address: R, port: started.config.audioPort + 1 }, 0x6161);
    const body = Buffer.from('hello spool');
    const g = await rflx.requestFile('hello.txt', body.length, createHash('sha256').update(body).digest());
    const answer = await putFile({ host: g.address, port: g.port }, { id: g.fileId, passkey: g.passkey }, body, 5000);
    expect(answer).to.equal(createHash('sha256').update(body).digest('hex'));
  });
});
