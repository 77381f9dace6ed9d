/**
 * Operations with real reflector processes (127.0.8.x):
 * - SIGHUP: a call keeps flowing while a newly added SIP_USER can join; a broken
 *   configuration at reload is rejected as a whole and changes nothing.
 * - SIGTERM: a SIPp participant receives the reflector's BYE, the process exits
 *   0, and the peer reflector receives COUNT 0 for the session (before any
 *   peer-down timeout could have said so).
 */
import { expect } from 'chai';
import { killAllSipp, runSipp, sippAvailable } from '../interop/sipp.js';
import { closeMembers, heardFrom, joinMember as join, type Member } from '../helpers/conference-member.js';
import { baseConfig, startReflector, stopReflectors, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';

const R1 = '127.0.8.1';
const R2 = '127.0.8.2';

describe('integration: reload and shutdown of a real reflector', function () {
  this.timeout(60_000);
  const procs: ReflectorProcess[] = [];
  const members: Member[] = [];

  afterEach(async function () {
    killAllSipp();
    await closeMembers(members);
    await stopReflectors(procs, this.currentTest?.state === 'failed', 6000);
  });

  it('keeps a call flowing across SIGHUP, admits a newly added user, and rejects a broken file as a whole', async () => {
    const users = 'SIP_AUTH on\nSIP_USER alice alice-pw\nSIP_USER bob bob-pw\n';
    const r = await startReflector({ config: baseConfig(R1, users) });
    procs.push(r);
    const alice = await join(R1, '127.0.8.11', 'reload test', 'alice', 'alice-pw');
    const bob = await join(R1, '127.0.8.12', 'reload test', 'bob', 'bob-pw');
    members.push(alice, bob);
    expect([alice.status, bob.status]).to.deep.equal([200, 200]);
    await waitUntil(() => heardFrom(bob, alice) >= 10, 5000, 'bob to hear alice');

    const carolBefore = await join(R1, '127.0.8.13', 'reload test', 'carol', 'carol-pw');
    members.push(carolBefore);
    expect(carolBefore.status, 'carol is not configured yet').to.equal(403);

    r.writeConfig(baseConfig(R1, users + 'SIP_USER carol carol-pw\n'));
    r.signal('SIGHUP');
    await r.waitForLog((l) => l.event === 'reloaded');
    const heardBefore = heardFrom(bob, alice);
    const carol = await join(R1, '127.0.8.14', 'reload test', 'carol', 'carol-pw');
    members.push(carol);
    expect(carol.status, 'carol after the reload').to.equal(200);
    await waitUntil(() => heardFrom(bob, alice) >= heardBefore + 25, 5000, 'the call to keep flowing after SIGHUP');
    expect(alice.sip.remoteBye || bob.sip.remoteBye, 'nobody was hung up by the reload').to.equal(false);

    // A broken file: adds dave, but has an error, so nothing of it may take effect.
    r.writeConfig(baseConfig(R1, users + 'SIP_USER carol carol-pw\nSIP_USER dave dave-pw\nAUDIO_PORT banana\n'));
    r.signal('SIGHUP');
    const rejected = await r.waitForLog((l) => l.event === 'reload_rejected');
    expect(rejected.errors).to.equal(1);
    expect(r.logs.some((l) => l.event === 'config_error' && String(l.issue).includes('AUDIO_PORT'))).to.equal(true);
    const dave = await join(R1, '127.0.8.15', 'reload test', 'dave', 'dave-pw');
    members.push(dave);
    expect(dave.status, 'dave came only with the broken file').to.equal(403);
    const heard = heardFrom(bob, alice);
    await waitUntil(() => heardFrom(bob, alice) >= heard + 25, 5000, 'the call to keep flowing after a rejected reload');
    expect(r.proc.exitCode).to.equal(null);
  });

  it('on SIGTERM sends BYE to a SIPp participant, COUNT 0 to the peer, and exits 0', async function () {
    expect(sippAvailable(), 'sipp is required (Debian package sip-tester)').to.equal(true);
    const r1 = await startReflector({ config: baseConfig(R1, `REFLECTOR_INTERCONNECTION ${R2} 5564\n`) });
    procs.push(r1);
    const r2 = await startReflector({ config: baseConfig(R2, `REFLECTOR_INTERCONNECTION ${R1} 5564\n`) });
    procs.push(r2);
    await r2.waitForLog((l) => l.event === 'peer_up', 15_000);

    const bob = await join(R2, '127.0.8.22', 'shutdowntest');
    members.push(bob);
    expect(bob.status).to.equal(200);

    const sipp = runSipp({
      scenario: '../../integration/sipp/uac-wait-bye.xml', remote: `${R1}:5060`, localIp: '127.0.8.21',
      port: 5071, controlPort: 8871, mediaPort: 16000, service: 'shutdowntest', timeoutMs: 40_000,
    });
    await r1.waitForLog((l) => l.event === 'participant_joined' && l.session === 'shutdowntest');
    await r2.waitForLog((l) => l.event === 'peer_session_count' && l.session === 'shutdowntest' && l.count === 1 && l.peer === `${R1}:5564`, 15_000);

    const t0 = Date.now();
    r1.signal('SIGTERM');
    const code = await r1.exited();
    expect(code, r1.output().slice(-3000)).to.equal(0);
    expect(Date.now() - t0, 'graceful shutdown within 5 s').to.be.lessThan(5000);
    const result = await sipp;
    expect(result.code, result.output).to.equal(0);
    expect(r1.logs.some((l) => l.event === 'sip_bye_sent' && l.session === 'shutdowntest')).to.equal(true);
    expect(r1.logs.some((l) => l.event === 'participant_left' && l.reason === 'shutdown')).to.equal(true);

    const zero = await r2.waitForLog((l) => l.event === 'peer_session_count' && l.session === 'shutdowntest' && l.count === 0, 5000);
    const zeroAt = r2.logs.indexOf(zero);
    const downAt = r2.logs.findIndex((l) => l.event === 'peer_down');
    expect(downAt === -1 || downAt > zeroAt, 'COUNT 0 came from the peer, not from a peer-down timeout').to.equal(true);
  });
});
