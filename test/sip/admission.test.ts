/** src/sip/admission.ts: per-source and global limits, reservation for known sources, response budget, per-user backoff. */
import { expect } from 'chai';
import { createLogger } from '../../src/runtime/logger.js';
import { RateLimitedLog } from '../../src/runtime/rate-limited-log.js';
import { DEFAULT_SIP_ADMISSION, SipAdmission, SipRefusal, UserBackoff } from '../../src/sip/admission.js';

describe('sip/admission', () => {
  let now = 1_000_000;
  const clock = (): number => now;

  it('limits server transactions per unknown source, reserves a share for known sources, and logs refusals once per interval', () => {
    const lines: { event: string; reason?: string }[] = [];
    const log = new RateLimitedLog(createLogger('info', (l) => { lines.push(JSON.parse(l) as { event: string; reason?: string }); }), 10_000);
    const limits = { ...DEFAULT_SIP_ADMISSION, maxServerTransactions: 10, reservedServerTransactions: 4, maxServerTransactionsPerSource: 3 };
    const a = new SipAdmission(() => limits, log, (ip) => ip === '192.0.2.9', clock);
    for (let i = 0; i < 3; i++) expect(a.takeServerTransaction('192.0.2.1')).to.equal(null);
    expect(a.takeServerTransaction('192.0.2.1')).to.equal(SipRefusal.TxSourceLimit);
    for (let i = 0; i < 3; i++) expect(a.takeServerTransaction('192.0.2.2')).to.equal(null);
    // Six unknown transactions: the other four places are reserved.
    expect(a.takeServerTransaction('192.0.2.3')).to.equal(SipRefusal.TxFull);
    expect(a.takeServerTransaction('192.0.2.9')).to.equal(null); // a peer
    a.noteAuthenticated('192.0.2.4');
    expect(a.takeServerTransaction('192.0.2.4')).to.equal(null);
    expect(a.serverTransactions).to.equal(8);
    a.releaseServerTransaction('192.0.2.1', false);
    expect(a.takeServerTransaction('192.0.2.3')).to.equal(null);
    expect(a.counts.get(SipRefusal.TxSourceLimit)).to.equal(1);
    expect(a.counts.get(SipRefusal.TxFull)).to.equal(1);
    expect(lines.filter((l) => l.event === 'sip_refused').map((l) => l.reason)).to.deep.equal([SipRefusal.TxSourceLimit, SipRefusal.TxFull]);
  });

  it('bounds stateless responses to an unverified source: rate, burst and amplification; known sources are not limited', () => {
    const a = new SipAdmission(() => ({ ...DEFAULT_SIP_ADMISSION, responsesPerSecondPerSource: 10, responseBurstPerSource: 5 }), null, () => false, clock);
    let sent = 0;
    for (let i = 0; i < 100; i++) if (a.mayRespond('198.51.100.7', 400, 600) === null) sent++;
    expect(sent).to.equal(5);
    now += 1000;
    sent = 0;
    for (let i = 0; i < 100; i++) if (a.mayRespond('198.51.100.7', 400, 600) === null) sent++;
    expect(sent).to.equal(5); // refilled to the burst, not to a second's worth beyond it
    expect(a.mayRespond('198.51.100.8', 100, 301)).to.equal(SipRefusal.ResponseTooLarge);
    a.noteAuthenticated('198.51.100.9');
    for (let i = 0; i < 100; i++) expect(a.mayRespond('198.51.100.9', 100, 2000)).to.equal(null);
  });

  it('a dialog makes a source known (the reserve) but not trusted; an authenticated source gets knownFactor times the dialogs', () => {
    const a = new SipAdmission(() => ({ ...DEFAULT_SIP_ADMISSION, maxDialogsPerSource: 2, knownFactor: 3 }), null, () => false, clock);
    let granted = 0;
    for (let i = 0; i < 10; i++) if (a.takeDialog('203.0.113.5') === null) granted++;
    expect(granted).to.equal(2);
    expect(a.isKnown('203.0.113.5')).to.equal(true);
    expect(a.isTrusted('203.0.113.5')).to.equal(false);
    for (let i = 0; i < 2; i++) a.releaseDialog('203.0.113.5');
    expect(a.isKnown('203.0.113.5')).to.equal(false);
    a.noteAuthenticated('203.0.113.6');
    granted = 0;
    for (let i = 0; i < 10; i++) if (a.takeDialog('203.0.113.6') === null) granted++;
    expect(granted).to.equal(6);
  });

  it('per-user backoff: failures from many addresses count against the user; doubling rounds capped; a trusted address and a success are not blocked', () => {
    const b = new UserBackoff({ threshold: 5, windowMs: 60_000, baseBackoffMs: 1000, maxBackoffMs: 4000 }, clock);
    b.succeed('alice', '192.0.2.50');
    for (let i = 0; i < 5; i++) { expect(b.blockedFor('alice', `203.0.113.${i}`)).to.equal(0); b.fail('alice'); }
    expect(b.blockedFor('alice', '203.0.113.99')).to.equal(1000);
    expect(b.blockedFor('alice', '192.0.2.50')).to.equal(0); // her usual address
    expect(b.blockedFor('bob', '203.0.113.99')).to.equal(0);
    now += 1000;
    for (let i = 0; i < 5; i++) b.fail('alice');
    expect(b.blockedFor('alice', '203.0.113.99')).to.equal(2000);
    now += 2000;
    for (let i = 0; i < 5; i++) b.fail('alice');
    now += 4000;
    for (let i = 0; i < 5; i++) b.fail('alice');
    expect(b.blockedFor('alice', '203.0.113.99')).to.equal(4000); // capped
    b.succeed('alice', '192.0.2.51');
    expect(b.blockedFor('alice', '203.0.113.99')).to.equal(0);
  });
});
