/**
 * Real SIPp (sip-tester) against the real core + SIP front end on loopback:
 * digest join, wrong password, CANCEL before the answer, hold/unhold, BYE,
 * over UDP and TCP, and the dialog torn down when the ACK never comes.
 */
import { expect } from 'chai';
import { startHarness, testConfig, type Harness } from '../sip/harness.js';
import { killAllSipp, runSipp, sippAvailable } from './sipp.js';

const USERS = [{ name: 'alice', password: 'wonderland' }];

describe('interop: SIPp against the SIP front end', function () {
  this.timeout(60_000);
  let h: Harness | null = null;

  afterEach(async () => {
    killAllSipp();
    await h?.close();
    h = null;
  });

  it('sipp is installed (the interop tests fail without it)', () => {
    expect(sippAvailable(), 'sipp not on PATH: apt-get install sip-tester').to.equal(true);
  });

  for (const [i, transport] of (['u1', 't1'] as const).entries()) {
    const ip = `127.0.2.${11 + i}`;
    const sippIp = `127.0.2.${111 + i}`;
    const name = transport === 'u1' ? 'UDP' : 'TCP';

    it(`joins answering a 401 MD5 challenge, holds, unholds and hangs up (${name})`, async () => {
      h = await startHarness(testConfig(ip, { sipAuth: true, sipUsers: USERS, sipDigestAlgorithms: ['MD5'] }));
      const r = await runSipp({
        scenario: 'uac-auth-hold-bye.xml', remote: `${ip}:5060`, localIp: sippIp,
        port: 5071 + i, controlPort: 8931 + i, mediaPort: 16010 + 10 * i, service: `weekly review ${name}`.replace(/ /g, '%20'),
        transport, auth: { user: 'alice', password: 'wonderland', uri: `sip:weekly%20review%20${name}@${ip}:5060` },
      });
      expect(r.code, r.output).to.equal(0);
      const st = h.sip.stats();
      expect(st.responses_401, JSON.stringify(st)).to.equal(1);
      expect(st.responses_200, JSON.stringify(st)).to.be.at.least(4); // INVITE, 2 re-INVITEs, BYE
      expect(h.joined.length).to.equal(1);
      expect(h.removed.map((x) => [x.session, x.reason])).to.deep.equal([[`weekly review ${name}`, 'bye']]);
      expect(st.dialogs).to.equal(0);
    });

    it(`answers a wrong password with 403 after the retry (${name})`, async () => {
      h = await startHarness(testConfig(ip, { sipAuth: true, sipUsers: USERS }));
      const r = await runSipp({
        scenario: 'uac-auth-wrong.xml', remote: `${ip}:5060`, localIp: sippIp,
        port: 5073 + i, controlPort: 8933 + i, mediaPort: 16030 + 10 * i, service: 'secret',
        transport, auth: { user: 'alice', password: 'not-the-password', uri: `sip:secret@${ip}:5060` },
      });
      expect(r.code, r.output).to.equal(0);
      const st = h.sip.stats();
      expect(st.responses_403).to.equal(1);
      expect(st.auth_failures).to.equal(1);
      expect(h.joined.length).to.equal(0);
    });

    it(`CANCEL before the answer gets 200 + 487 and removes the participant (${name})`, async () => {
      h = await startHarness(testConfig(ip), { answerDelayMs: 3000 });
      const r = await runSipp({
        scenario: 'uac-cancel.xml', remote: `${ip}:5060`, localIp: sippIp,
        port: 5075 + i, controlPort: 8935 + i, mediaPort: 16050 + 10 * i, service: 'cancelled', transport,
      });
      expect(r.code, r.output).to.equal(0);
      expect(h.sip.stats().responses_487).to.equal(1);
      expect(h.removed.map((x) => x.reason)).to.deep.equal(['cancel']);
    });
  }

  it('tears the dialog down with a BYE when the 2xx is never ACKed (UDP, 64*T1)', async function () {
    this.timeout(70_000);
    const ip = '127.0.2.13';
    h = await startHarness(testConfig(ip));
    const r = await runSipp({
      scenario: 'uac-no-ack.xml', remote: `${ip}:5060`, localIp: '127.0.2.113',
      port: 5077, controlPort: 8937, mediaPort: 16070, service: 'no-ack', timeoutMs: 50_000,
    });
    expect(r.code, r.output).to.equal(0);
    const st = h.sip.stats();
    expect(h.removed.map((x) => x.reason)).to.deep.equal(['ack_timeout']);
    expect(st.ack_timeouts).to.equal(1);
    expect(st.byes_sent).to.equal(1);
    // the 2xx was retransmitted (T1 doubling to T2) while waiting for the ACK
    expect(st.responses_200).to.equal(1);
    const received200 = r.output.split('SIP/2.0 200 OK').length - 1;
    expect(received200, r.output).to.be.at.least(5);
  });
});
