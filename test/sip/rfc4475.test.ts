/**
 * The RFC 4475 torture messages (test/sip/rfc4475/messages.ts) against the
 * real SIP front end and core, over real UDP, with digest required (as on R1):
 * every valid message is answered sensibly, every invalid one gets 400 (or the
 * code RFC 3261 names: 416, 420, 505) or is dropped, responses are never
 * answered, and the front end never throws.
 *
 * Responses go where RFC 3261 §18.2.2 says: the source address at the top
 * Via's port (5060 when absent) or, with rport, the source port. The test
 * listens on each of those ports at its own address, sends from :5060, and
 * waits long enough after each message for an answer that is not coming.
 */
import { expect } from 'chai';
import dgram from 'node:dgram';
import { startHarness, testConfig, type Harness } from './harness.js';
import { RFC4475_MESSAGES, type TortureMessage } from './rfc4475/messages.js';

const SERVER = '127.0.40.60';
const CLIENT = '127.0.40.61';
/** How long to wait for a response that should not come (loopback answers take well under 10 ms). */
const QUIET_MS = 250;

interface Received { readonly port: number; readonly data: Buffer }

describe('RFC 4475 torture messages (issue 11)', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  const sockets: dgram.Socket[] = [];
  const received: Received[] = [];
  let sender: dgram.Socket | undefined;

  // A fresh front end per message: the RFC's messages reuse branches (z9hG4bKkdjuw…) and sent-by values,
  // so on one server a later message would rightly be taken for a retransmission of an earlier one.
  beforeEach(async () => {
    h = await startHarness(testConfig(SERVER, { sipPort: 5060, sipAuth: true, sipUsers: [{ name: 'alice', password: 'secret' }] }));
  });

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  before(async () => {
    const ports = new Set<number>([5060]);
    for (const m of RFC4475_MESSAGES) if (typeof m.replyPort === 'number') ports.add(m.replyPort);
    for (const port of ports) {
      const s = dgram.createSocket('udp4');
      s.on('message', (data) => { received.push({ port, data }); });
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, CLIENT, () => { s.off('error', reject); resolve(); }); });
      sockets.push(s);
      if (port === 5060) sender = s;
    }
  });

  after(async () => {
    for (const s of sockets) await new Promise<void>((resolve) => { s.close(() => resolve()); });
    sockets.length = 0;
  });

  /** The Call-ID of a message or response ('' when it has none). */
  function callIdOf(data: Buffer): string {
    const head = data.toString('latin1').split('\r\n\r\n')[0] ?? '';
    return /^(?:call-id|i)[ \t]*:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
  }

  /** Sends `m` and returns what came back for it (matched by Call-ID: late answers to earlier messages are not its). */
  async function exchange(m: TortureMessage): Promise<Received[]> {
    received.length = 0;
    const s = sender;
    if (s === undefined) throw new Error('no sender');
    await new Promise<void>((resolve, reject) => { s.send(m.bytes(), 5060, SERVER, (err) => { if (err) reject(err); else resolve(); }); });
    await new Promise<void>((resolve) => { setTimeout(resolve, QUIET_MS); });
    const id = callIdOf(m.bytes());
    // A repeated single-value Call-ID is echoed as given (joined): it still contains the first one.
    return received.filter((r) => id === '' || callIdOf(r.data).includes(id));
  }

  function statusOf(r: Received): number {
    const m = /^SIP\/2\.0 (\d{3}) /.exec(r.data.toString('latin1'));
    if (m === null) throw new Error(`not a response: ${r.data.toString('latin1')}`);
    return Number(m[1]);
  }

  for (const m of RFC4475_MESSAGES) {
    it(`${m.section} ${m.name}: ${m.title} (${m.valid ? 'valid' : 'invalid'}) → ${m.expect.kind === 'dropped' ? 'dropped' : m.expect.codes.join('/')}`, async () => {
      const errorsBefore = h?.sip.stats().internal_errors ?? 0;
      const got = await exchange(m);
      const statuses = got.map(statusOf);
      const what = `${m.name}: got ${JSON.stringify(statuses)} on ports ${JSON.stringify(got.map((g) => g.port))}`;
      if (m.expect.kind === 'dropped') {
        expect(got, what).to.have.length(0);
      } else if (m.expect.kind === 'status') {
        expect(got, what).to.have.length(1);
        expect(m.expect.codes, what).to.include(statuses[0]);
      } else {
        expect(got.length, what).to.be.at.most(1);
        if (got.length === 1) expect(m.expect.codes, what).to.include(statuses[0]);
      }
      if (got.length === 1) {
        // The answer goes where RFC 3261 §18.2.2 / RFC 3581 say.
        expect(got[0]?.port, what).to.equal(m.replyPort === 'source' ? 5060 : m.replyPort);
        // Never more than a small multiple of the request (and a 4xx never carries a body).
        expect(got[0]?.data.length ?? 0, what).to.be.at.most(3 * m.bytes().length + 512);
      }
      expect(h?.sip.stats().internal_errors ?? 0, `${m.name}: internal errors`).to.equal(errorsBefore);
    });
  }

  it('the front end still answers a plain OPTIONS after the corpus', async () => {
    const ok = RFC4475_MESSAGES.find((x) => x.name === 'lwsdisp');
    if (ok === undefined) throw new Error('lwsdisp missing');
    const got = await exchange(ok);
    expect(got.map(statusOf)).to.deep.equal([200]);
  });
});
