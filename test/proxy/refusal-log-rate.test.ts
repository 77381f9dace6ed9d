/**
 * Refused requests are input defects (STYLE: counted by reason, logged at a
 * limited rate): a participant that floods FILE_REQUESTs the spool refuses, or
 * SHARE_REQUESTs while the port pool is exhausted, gets an ERROR answer for
 * each, a counter per refusal, and at most one warn line per event per
 * interval — not one log line per datagram.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy, type Proxy } from '../../src/proxy/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { RflxClient, RflxRequestError } from '../../tools/lib/proxy-client.js';
import { startCore, TestClient, type TestCore } from '../reflector/fixture.js';

const R = '127.0.9.40';
const AUDIO = 5566;
const SESSION = 'flood';

describe('proxy: refused requests are counted, and logged at a limited rate', function () {
  this.timeout(30_000);
  let core: TestCore | null = null;
  let proxy: Proxy | null = null;
  let client: TestClient | null = null;
  let rflx: RflxClient | null = null;
  let spool = '';
  const lines: { event: string; level: string }[] = [];

  async function setup(): Promise<{ proxy: Proxy; rflx: RflxClient }> {
    spool = await mkdtemp(join(tmpdir(), 'proxy-log-rate-'));
    const started = await startCore(R, {
      appshareServerPorts: { first: 26200, last: 26200 },
      appshareClientPorts: { first: 26300, last: 26300 },
      fileTransferPort: 0,
      fileSpoolDir: spool,
      fileMaxBytes: 1000,
    });
    core = started.core;
    const logger = createLogger('info', (line) => { lines.push(JSON.parse(line) as { event: string; level: string }); });
    proxy = createProxy({ config: started.config, logger, core: started.core, interconnect: null });
    await proxy.start();
    client = await TestClient.create('127.0.9.41');
    client.join(started.core, SESSION, [client.stream({ ssrcs: [0x4141] })], { user: 'flooder' }, client.ip);
    rflx = new RflxClient(client.rtcp.socket, { address: R, port: AUDIO + 1 }, 0x4141);
    return { proxy, rflx };
  }

  afterEach(async () => {
    rflx?.close();
    rflx = null;
    await proxy?.close();
    proxy = null;
    await core?.close();
    core = null;
    await client?.close();
    client = null;
    if (spool !== '') await rm(spool, { recursive: true, force: true });
    spool = '';
    lines.length = 0;
  });

  async function refusal(p: Promise<unknown>): Promise<number> {
    try {
      await p;
    } catch (err) {
      if (err instanceof RflxRequestError) return err.code;
      throw err;
    }
    throw new Error('expected an ERROR answer');
  }

  it('answers each too-large FILE_REQUEST with 413, counts each, logs once', async () => {
    const { proxy: p, rflx: r } = await setup();
    const digest = createHash('sha256').update('x').digest();
    const n = 20;
    for (let i = 1; i <= n; i++) {
      expect(await refusal(r.requestFile(`f${i}.bin`, 5000, digest, { requestId: i }))).to.equal(413);
    }
    expect(p.stats().proxy_file_refused).to.equal(n);
    expect(lines.filter((l) => l.event === 'file_refused')).to.have.length(1);
  });

  it('answers each SHARE_REQUEST with 503 while the pool is exhausted, counts each, logs once', async () => {
    const { proxy: p, rflx: r } = await setup();
    await r.requestShare('the one', { requestId: 100 });
    const n = 3; // below MAX_SHARES_PER_PARTICIPANT: the pool, not the per-participant limit, refuses
    for (let i = 1; i <= n; i++) expect(await refusal(r.requestShare(`t${i}`, { requestId: 100 + i }))).to.equal(503);
    expect(p.stats().proxy_pool_exhausted).to.equal(n);
    expect(lines.filter((l) => l.event === 'share_refused')).to.have.length(1);
  });
});
