/**
 * A participant holds at most MAX_FILES_PER_PARTICIPANT files in the spool at
 * once (granted, uploading or verified). Without it one participant could
 * upload empty files without end: every one an entry kept for FILE_TTL and a
 * FILE_ANNOUNCE to every participant (and again to each who latches later).
 * Real core, proxy and TCP uploads on 127.0.9.50.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { MAX_FILES_PER_PARTICIPANT } from '../../src/proxy/index.js';
import { RflxErrorCode } from '../../src/rtp/rflx-types.js';
import { putFile, RflxRequestError, type RflxClient } from '../../tools/lib/proxy-client.js';
import { useProxyHarness } from './harness.js';

const R = '127.0.9.50';

describe('proxy: files one participant may keep in the spool', function () {
  this.timeout(60_000);
  const h = useProxyHarness();

  it('refuses the next FILE_REQUEST with 503 once the limit of verified uploads is reached; others still upload', async () => {
    const at = await h.reflector(R);
    const p = at.proxy;
    async function participant(n: number): Promise<RflxClient> {
      return (await h.participant(at, `127.0.9.${n}`, { session: 'files cap', ssrc: 0x5000 + n, user: `u${n}` })).rflx;
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
