import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { AdmissionError, type LeaveReason } from '../../src/reflector/api.js';
import { bindUdp } from '../helpers/udp.js';
import { startCore, TestClient, type TestCore } from './fixture.js';

const CORE_IP = '127.0.1.9';

describe('reflector core: admission and membership', () => {
  let core: TestCore | null = null;
  const clients: TestClient[] = [];

  afterEach(async () => {
    await core?.close();
    core = null;
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('enforces MAX_PARTICIPANTS_PER_SESSION, MAX_PARTICIPANTS and MAX_SESSIONS with coded errors', async () => {
    ({ core } = await startCore(CORE_IP, { maxSessions: 2, maxParticipants: 3, maxParticipantsPerSession: 2 }));
    const c = await TestClient.create('127.0.1.200');
    clients.push(c);
    const join = (session: string): string => core!.join({ session, signalingAddress: c.ip, mode: 'reflect', streams: [c.stream()] });
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        expect(err).to.be.instanceOf(AdmissionError);
        return (err as AdmissionError).code;
      }
      return 'none';
    };
    join('one');
    join('one');
    expect(code(() => join('one'))).to.equal('session_full');
    join('two');
    expect(code(() => join('three'))).to.equal('server_full');
    expect(code(() => core!.checkAdmission('two'))).to.equal('server_full');
    core.leave(core.participantIds('two')[0], 'bye');
    expect(code(() => join('three'))).to.equal('none');
    expect(code(() => join('four'))).to.equal('server_full');
    core.leave(core.participantIds('one')[0], 'bye');
    expect(code(() => join('four'))).to.equal('too_many_sessions');
    expect([...core.sessionNames()].sort()).to.deep.equal(['one', 'three']);
  });

  it('emits session-created, participant-joined, participant-removed once, and session-empty', async () => {
    ({ core } = await startCore(CORE_IP));
    const log: string[] = [];
    core.events.on('session-created', (s) => log.push(`created ${s}`));
    core.events.on('participant-joined', (p) => log.push(`joined ${p.session} ${p.user ?? ''}`));
    core.events.on('participant-removed', (_id, s, r: LeaveReason) => log.push(`removed ${s} ${r}`));
    core.events.on('session-empty', (s) => log.push(`empty ${s}`));
    const c = await TestClient.create('127.0.1.201');
    clients.push(c);
    const id = c.join(core, 'weekly review', [c.stream()], { user: 'alice' });
    expect(core.has(id)).to.equal(true);
    core.leave(id, 'kicked');
    core.leave(id, 'bye');
    expect(core.has(id)).to.equal(false);
    expect(log).to.deep.equal(['created weekly review', 'joined weekly review alice', 'removed weekly review kicked', 'empty weekly review']);
    expect(core.sessionNames()).to.deep.equal([]);
    expect(core.sessionCodecs('weekly review', 'audio')).to.deep.equal([]);
  });

  it('close() is idempotent and removes everyone with reason shutdown', async () => {
    ({ core } = await startCore(CORE_IP));
    const c = await TestClient.create('127.0.1.202');
    clients.push(c);
    c.join(core, 's');
    const reasons: LeaveReason[] = [];
    core.events.on('participant-removed', (_i, _s, r) => reasons.push(r));
    await core.close();
    await core.close();
    expect(reasons).to.deep.equal(['shutdown']);
    // The ports are free again.
    const again = await startCore(CORE_IP);
    await again.core.close();
  });

  it('a listener that throws does not undo a join or a leave', async () => {
    ({ core } = await startCore(CORE_IP));
    core.events.on('participant-joined', () => {
      throw new Error('listener bug');
    });
    core.events.on('participant-removed', () => {
      throw new Error('listener bug');
    });
    const c = await TestClient.create('127.0.1.203');
    clients.push(c);
    const id = c.join(core, 'robust');
    expect(core.has(id)).to.equal(true);
    core.leave(id, 'bye');
    expect(core.has(id)).to.equal(false);
    expect(core.sessionNames()).to.deep.equal([]);
    expect(core.drops().hook_error).to.equal(2);
  });

  it('start() fails with the socket named when a port is taken, and releases what it bound', async () => {
    // Occupy the video RTP port; the audio sockets bind first and must be released again.
    const taken = await bindUdp(CORE_IP, 5568);
    try {
      let failure: unknown = null;
      try {
        await startCore(CORE_IP);
      } catch (err) {
        failure = err;
      }
      expect(failure).to.be.instanceOf(Error);
      expect((failure as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
      expect((failure as Error).message).to.contain('127.0.1.9:5568');
    } finally {
      await taken.close();
    }
    // Everything was released: a core starts on the same ports now.
    ({ core } = await startCore(CORE_IP));
  });
});
