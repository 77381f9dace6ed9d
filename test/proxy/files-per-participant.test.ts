/**
 * A participant holds at most MAX_FILES_PER_PARTICIPANT files in the spool at
 * once (granted, uploading or verified). Without it one participant could
 * upload empty files without end: every one an entry kept for FILE_TTL and a
 * FILE_ANNOUNCE to every participant (and again to each who latches later).
 * Real core, proxy and TCP uploads on 127.0.9.50.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy, MAX_FILES_PER_PARTICIPANT, type Proxy } from '../../src/proxy/index.js';
import { RflxErrorCode } from '../../src/rtp/rflx-types.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { putFile, RflxClient, RflxRequestError } from '../../tools/lib/proxy-client.js';
import { startCore, TestClient, type TestCore } from '../reflector/fixture.js';

const R = '127.0.9.50';
const AUDIO = 5566;

describe('proxy: files one participant may keep in the spool', function () {
  this.timeout(60_000);
  let core: TestCore | null = null;
  let proxy: Proxy | null = null;
  const clients: TestClient[] = [];
  const rflx: RflxClient[] = [];
  let spool = '';

  afterEach(async () => {
    for (const r of rflx) r.close();
    rflx.length = 0;
    await proxy?.close();
    proxy = null;
    await core?.close();
    core = null;
    await Promise.all(clients.splice(0).map((c) => c.close()));
    if (spool !== '') await rm(spool, { recursive: true, force: true });
    spool = '';
  });

  it('refuses the next FILE_REQUEST with 503 once the limit of verified uploads is reached; others still upload', async () => {
    spool = await mkdtemp(join(tmpdir(), 'proxy-files-cap-'));
    const started = await startCore(R, { fileTransferPort: 0, fileSpoolDir: spool });
    core = started.core;
    proxy = createProxy({ config: started.config, logger: silentLogger(), core: started.core, interconnect: null });
    await proxy.start();
    const p = proxy;
    async function participant(n: number): Promise<RflxClient> {
      const client = await TestClient.create(`127.0.9.${n}`);
      clients.push(client);
      client.join(started.core, 'files cap', [client.stream({ ssrcs: [0x5000 + n] })], { user: `u${n}` }, client.ip);
      const r = new RflxClient(client.rtcp.socket, { address: R, port: AUDIO + 1 }, 0x5000 + n);
      rflx.push(r);
      return r;
    }
    const empty = createHash('sha256').digest();
    const u1 = await participant(51);
    for (let i = 0; i < MAX_FILES_PER_PARTICIPANT; i++) {
      const g = await u1.requestFile(`empty-${i}`, 0, empty, { requestId: i + 1 });
      const answer = await putFile({ host: g.address, port: g.port }, { id: g.fileId, passkey: g.passkey }, Buffer.alloc(0), 5000);
      expect(answer).to.equal(empty.toString('hex'));
    }
    expect(p.files().filter((f) => f.state === 'ready')).to.have.length(MAX_FILES_PER_PARTICIPANT);
    let refused: unknown;
    try {
      await u1.requestFile('one more', 0, empty, { requestId: 10_000 });
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(RflxRequestError);
    expect((refused as RflxRequestError).code).to.equal(RflxErrorCode.PoolExhausted);
    expect(p.files()).to.have.length(MAX_FILES_PER_PARTICIPANT);
    // The limit is per participant.
    const u2 = await participant(52);
    const g = await u2.requestFile('from u2', 0, empty);
    expect(g.fileId).to.be.a('number');
  });
});
