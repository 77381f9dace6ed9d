/** RFC 3261 §17 transaction machines with fake timers and an exact event log. */
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { NonInviteClientTransaction } from '../../src/sip/transaction/non-invite-client.js';
import { InviteServerTransaction } from '../../src/sip/transaction/invite-server.js';
import { NonInviteServerTransaction } from '../../src/sip/transaction/non-invite-server.js';

describe('sip/transactions (fake timers)', () => {
  let clock: ReturnType<typeof FakeTimers.install>;
  let log: string[];
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    log = [];
  });
  afterEach(() => { clock.uninstall(); });

  const io = (reliable: boolean) => ({ reliable, send: (d: Buffer) => { log.push(`${clock.now} send ${d.toString()}`); } });

  describe('INVITE server transaction', () => {
    it('retransmits the 2xx over UDP at T1 doubling to T2 until 64*T1, then reports the missing ACK', () => {
      const tx = new InviteServerTransaction(io(false), {
        onAckTimeout: (s) => log.push(`${clock.now} ack-timeout ${s}`),
        onTerminated: () => log.push(`${clock.now} terminated`),
      });
      tx.handle({ type: 'respond', status: 200, data: Buffer.from('200') });
      expect(tx.state).to.equal('accepted');
      clock.tick(32_000);
      expect(log).to.deep.equal([
        '0 send 200', '500 send 200', '1500 send 200', '3500 send 200', '7500 send 200', '11500 send 200',
        '15500 send 200', '19500 send 200', '23500 send 200', '27500 send 200', '31500 send 200',
        '32000 terminated', '32000 ack-timeout 200',
      ]);
      expect(tx.state).to.equal('terminated');
    });
    it('stops retransmitting when the ACK of the 2xx arrives; absorbs INVITE retransmissions meanwhile', () => {
      const tx = new InviteServerTransaction(io(false), { onAckTimeout: () => log.push('ack-timeout'), onTerminated: () => log.push(`${clock.now} terminated`) });
      tx.handle({ type: 'respond', status: 200, data: Buffer.from('200') });
      tx.handle({ type: 'retransmission' });
      clock.tick(600);
      tx.handle({ type: 'ack-2xx' });
      tx.handle({ type: 'retransmission' });
      clock.tick(40_000);
      expect(log, 'no ack-timeout; absorbed until Timer L').to.deep.equal(['0 send 200', '500 send 200', '32000 terminated']);
    });
    it('non-2xx: Timer G retransmits, ACK moves to Confirmed, Timer I (T4) terminates', () => {
      const tx = new InviteServerTransaction(io(false), { onAckTimeout: () => log.push('ack-timeout'), onTerminated: () => log.push(`${clock.now} terminated`) });
      tx.handle({ type: 'respond', status: 100, data: Buffer.from('100') });
      tx.handle({ type: 'retransmission' });
      tx.handle({ type: 'respond', status: 486, data: Buffer.from('486') });
      clock.tick(1600);
      tx.handle({ type: 'retransmission' });
      tx.handle({ type: 'ack' });
      expect(tx.state).to.equal('confirmed');
      tx.handle({ type: 'retransmission' });
      clock.tick(5000);
      expect(log).to.deep.equal(['0 send 100', '0 send 100', '0 send 486', '500 send 486', '1500 send 486', '1600 send 486', '6600 terminated']);
    });
    it('over TCP: no retransmissions, Timer H still bounds the wait for the ACK', () => {
      const tx = new InviteServerTransaction(io(true), { onAckTimeout: (s) => log.push(`${clock.now} ack-timeout ${s}`), onTerminated: () => log.push(`${clock.now} terminated`) });
      tx.handle({ type: 'respond', status: 404, data: Buffer.from('404') });
      clock.tick(40_000);
      expect(log).to.deep.equal(['0 send 404', '32000 terminated', '32000 ack-timeout 404']);
    });
    it('ignores a second final response', () => {
      const tx = new InviteServerTransaction(io(true), { onAckTimeout: () => undefined, onTerminated: () => undefined });
      tx.handle({ type: 'respond', status: 487, data: Buffer.from('487') });
      tx.handle({ type: 'respond', status: 200, data: Buffer.from('200') });
      expect(log).to.deep.equal(['0 send 487']);
    });
  });

  describe('non-INVITE server transaction', () => {
    it('absorbs retransmissions in Trying, resends the final in Completed, Timer J = 64*T1 over UDP', () => {
      const tx = new NonInviteServerTransaction(io(false), () => log.push(`${clock.now} terminated`));
      tx.handle({ type: 'retransmission' });
      tx.handle({ type: 'respond', status: 200, data: Buffer.from('200') });
      clock.tick(1000);
      tx.handle({ type: 'retransmission' });
      clock.tick(31_000);
      expect(log).to.deep.equal(['0 send 200', '1000 send 200', '32000 terminated']);
    });
    it('terminates at once over TCP', () => {
      const tx = new NonInviteServerTransaction(io(true), () => log.push(`${clock.now} terminated`));
      tx.handle({ type: 'respond', status: 405, data: Buffer.from('405') });
      expect(log).to.deep.equal(['0 send 405', '0 terminated']);
      expect(tx.state).to.equal('terminated');
    });
  });

  describe('non-INVITE client transaction (the reflector\'s BYE)', () => {
    it('retransmits with Timer E (T1 doubling to T2) and gives up with 408 at Timer F', () => {
      const tx = new NonInviteClientTransaction(io(false), Buffer.from('BYE'), {
        onFinal: (s) => log.push(`${clock.now} final ${s}`), onTerminated: () => log.push(`${clock.now} terminated`),
      });
      tx.start();
      clock.tick(32_000);
      expect(log).to.deep.equal([
        '0 send BYE', '500 send BYE', '1500 send BYE', '3500 send BYE', '7500 send BYE', '11500 send BYE',
        '15500 send BYE', '19500 send BYE', '23500 send BYE', '27500 send BYE', '31500 send BYE',
        '32000 terminated', '32000 final 408',
      ]);
    });
    it('stops on the final response and lingers T4 in Completed', () => {
      const tx = new NonInviteClientTransaction(io(false), Buffer.from('BYE'), {
        onFinal: (s) => log.push(`${clock.now} final ${s}`), onTerminated: () => log.push(`${clock.now} terminated`),
      });
      tx.start();
      clock.tick(700);
      tx.handle({ type: 'response', status: 200 });
      tx.handle({ type: 'response', status: 200 });
      clock.tick(10_000);
      expect(log).to.deep.equal(['0 send BYE', '500 send BYE', '700 final 200', '5700 terminated']);
    });
    it('sends once over TCP', () => {
      const tx = new NonInviteClientTransaction(io(true), Buffer.from('BYE'), {
        onFinal: (s) => log.push(`${clock.now} final ${s}`), onTerminated: () => log.push(`${clock.now} terminated`),
      });
      tx.start();
      clock.tick(100);
      tx.handle({ type: 'response', status: 481 });
      expect(log).to.deep.equal(['0 send BYE', '100 final 481', '100 terminated']);
    });
  });
});
