/**
 * DRAIN_TIMEOUT on a real reflector process (no proxy in front; the
 * dispatcher case is in test/interop/kamailio-dispatch.test.ts):
 * - SIGTERM with no call in progress: the drain ends at once (`idle`) and the
 *   reflector exits 0 as without draining;
 * - SIGTERM with a call: new INVITEs get 503 while the call goes on; a second
 *   SIGTERM ends the drain at once: BYE to the member, exit 0.
 */
import { expect } from 'chai';
import { closeMembers, heardFrom, joinMember, type Member } from '../helpers/conference-member.js';
import { baseConfig, startReflector, stopReflectors, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';

const R = '127.0.50.40';

describe('integration: draining before a stop (DRAIN_TIMEOUT)', function () {
  this.timeout(30_000);
  const procs: ReflectorProcess[] = [];
  const members: Member[] = [];

  afterEach(async function () {
    await closeMembers(members);
    await stopReflectors(procs, this.currentTest?.state === 'failed');
  });

  it('with no call in progress, SIGTERM leaves at once', async () => {
    const r = await startReflector({ config: baseConfig(R, 'DRAIN_TIMEOUT 60') });
    procs.push(r);
    r.signal('SIGTERM');
    expect(await r.exited()).to.equal(0);
    expect(r.logs.find((l) => l.event === 'drained')?.result).to.equal('idle');
    expect(r.logs.some((l) => l.event === 'stopped')).to.equal(true);
  });

  it('refuses new calls with 503 while its call goes on, and a second SIGTERM ends the drain with a BYE', async () => {
    const r = await startReflector({ config: baseConfig(R, 'DRAIN_TIMEOUT 60') });
    procs.push(r);
    const a = await joinMember(R, '127.0.50.41', 'drain');
    const b = await joinMember(R, '127.0.50.42', 'drain');
    members.push(a, b);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    await waitUntil(() => heardFrom(a, b) > 10 && heardFrom(b, a) > 10, 5000, 'the call to flow');

    r.signal('SIGTERM');
    const draining = await r.waitForLog((l) => l.event === 'draining', 5000);
    expect(draining.calls).to.equal(2);
    const late = await joinMember(R, '127.0.50.43', 'drain');
    members.push(late);
    expect(late.status, 'a new call while draining').to.equal(503);
    const heard = heardFrom(a, b);
    await waitUntil(() => heardFrom(a, b) > heard + 25, 5000, 'media to keep flowing while draining');
    expect(a.sip.remoteBye || b.sip.remoteBye).to.equal(false);

    r.signal('SIGTERM');
    expect(await r.exited()).to.equal(0);
    expect(r.logs.find((l) => l.event === 'drained')?.result).to.equal('aborted');
    await waitUntil(() => a.sip.remoteBye && b.sip.remoteBye, 3000, 'both members to get the BYE');
  });
});
