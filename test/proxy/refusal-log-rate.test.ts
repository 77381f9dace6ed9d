/**
 * Refused requests are input defects (STYLE: counted by reason, logged at a
 * limited rate): a participant that floods FILE_REQUESTs the spool refuses, or
 * SHARE_REQUESTs while the port pool is exhausted, gets an ERROR answer for
 * each, a counter per refusal, and at most one warn line per event per
 * interval — not one log line per datagram.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { Proxy } from '../../src/proxy/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { RflxRequestError, type RflxClient } from '../../tools/lib/proxy-client.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.9.40';
const SESSION = 'flood';

describe('proxy: refused requests are counted, and logged at a limited rate', function () {
  this.timeout(30_000);
  const h = useProxyHarness();
  const lines: { event: string; level: string }[] = [];
  afterEach(() => { lines.length = 0; });

  async function setup(): Promise<{ proxy: Proxy; rflx: RflxClient }> {
    const logger = createLogger('info', (line) => { lines.push(JSON.parse(line) as { event: string; level: string }); });
    const at = await h.reflector(R, {
      config: {
        appshareServerPorts: { first: 26200, last: 26200 },
        appshareClientPorts: { first: 26300, last: 26300 },
        fileMaxBytes: 1000,
      },
      logger,
    });
    const { rflx } = await h.participant(at, '127.0.9.41', { session: SESSION, ssrc: 0x4141, user: 'flooder' });
    return { proxy: at.proxy, rflx };
  }

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
