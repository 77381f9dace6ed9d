/**
 * Issue 4 with real reflector processes on one host (127.0.13.x, same ports on
 * every reflector), SIP-joined clients sending PCMU and RTCP:
 * - a firewall pair: nothing is relayed while only one side has participants;
 *   with two clients on each side every client receives the three others (RTP
 *   and RTCP) and never itself; a client of another session receives nothing;
 *   when one side leaves, the relay stops at once (COUNT 0);
 * - a chain R2 – R1 – R3 (no R2–R3 line): each client hears both others, without
 *   duplicates;
 * - a crashed peer is marked down, and after its restart the state is
 *   re-announced and media flows again without the other side re-joining.
 */
import { expect } from 'chai';
import { closeMembers, heardFrom, joinMember, rtcpFrom, type Member } from '../helpers/conference-member.js';
import { baseConfig, startReflector, stopReflectors, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';

interface PeerJson { key: string; up: boolean; relayPacketsIn: number; relayPacketsOut: number }

function config(address: string, peers: readonly string[]): string {
  return baseConfig(address, peers.map((p) => `REFLECTOR_INTERCONNECTION ${p} 5564`).join('\n'), { statusPort: 8080 });
}

async function peers(address: string): Promise<PeerJson[]> {
  return (await (await fetch(`http://${address}:8080/api/peers`)).json()) as PeerJson[];
}

async function relayOut(address: string): Promise<number> {
  return (await peers(address)).reduce((n, p) => n + p.relayPacketsOut, 0);
}

describe('integration: reflector interconnection with real processes', function () {
  this.timeout(90_000);
  const procs: ReflectorProcess[] = [];
  const members: Member[] = [];

  afterEach(async function () {
    await closeMembers(members);
    await stopReflectors(procs, this.currentTest?.state === 'failed');
  });

  async function join(reflector: string, local: string, session: string): Promise<Member> {
    const m = await joinMember(reflector, local, session);
    members.push(m);
    expect(m.status, `${local} joining ${session} on ${reflector}`).to.equal(200);
    return m;
  }

  it('firewall pair: relays only while both sides have participants, to everyone but the sender', async () => {
    const R1 = '127.0.13.2';
    const R2 = '127.0.13.3';
    const r1 = await startReflector({ config: config(R1, [R2]) });
    procs.push(r1);
    const r2 = await startReflector({ config: config(R2, [R1]) });
    procs.push(r2);
    await r2.waitForLog((l) => l.event === 'peer_up', 15_000);

    const a = await join(R2, '127.0.13.21', 'weekly');
    const b = await join(R2, '127.0.13.22', 'weekly');
    await waitUntil(() => heardFrom(a, b) >= 25 && heardFrom(b, a) >= 25, 8000, 'the two R2 clients to hear each other');
    expect(await relayOut(R2), 'relay datagrams from R2 while R1 has nobody').to.equal(0);
    expect(await relayOut(R1)).to.equal(0);

    const c = await join(R1, '127.0.13.11', 'weekly');
    const d = await join(R1, '127.0.13.12', 'weekly');
    const other = await join(R1, '127.0.13.13', 'other');
    const weekly = [a, b, c, d];
    await waitUntil(() => weekly.every((x) => weekly.every((y) => x === y || (heardFrom(x, y) >= 25 && rtcpFrom(x, y) >= 1))),
      15_000, 'every weekly client to receive RTP and RTCP of the three others');
    for (const x of weekly) {
      expect(heardFrom(x, x), 'a client never receives its own packets').to.equal(0);
      expect(heardFrom(x, other), 'weekly hears nothing of other').to.equal(0);
      expect(heardFrom(other, x), 'other hears nothing of weekly').to.equal(0);
    }
    expect(await relayOut(R2)).to.be.greaterThan(0);

    // The R1 side leaves: R2 learns COUNT 0 and stops relaying at once (well within one refresh interval).
    expect(await c.sip.bye()).to.equal(200);
    expect(await d.sip.bye()).to.equal(200);
    await c.media.close();
    await d.media.close();
    await r2.waitForLog((l) => l.event === 'peer_session_count' && l.session === 'weekly' && l.count === 0, 5000);
    const settled = await relayOut(R2);
    const before = heardFrom(b, a);
    await waitUntil(() => heardFrom(b, a) >= before + 25, 5000, 'the R2 clients to keep talking');
    expect(await relayOut(R2), 'no relay after the far side left').to.equal(settled);
  });

  it('chain R2 – R1 – R3: one client on each hears both others, without duplicates', async () => {
    const R1 = '127.0.13.31';
    const R2 = '127.0.13.32';
    const R3 = '127.0.13.33';
    const r1 = await startReflector({ config: config(R1, [R2, R3]) });
    const r2 = await startReflector({ config: config(R2, [R1]) });
    const r3 = await startReflector({ config: config(R3, [R1]) });
    procs.push(r1, r2, r3);
    await r1.waitForLog((l) => l.event === 'peer_up' && l.peer === `${R2}:5564`, 15_000);
    await r1.waitForLog((l) => l.event === 'peer_up' && l.peer === `${R3}:5564`, 15_000);

    const x = await join(R2, '127.0.13.41', 'tree');
    const y = await join(R1, '127.0.13.42', 'tree');
    const z = await join(R3, '127.0.13.43', 'tree');
    const all = [x, y, z];
    await waitUntil(() => all.every((p) => all.every((q) => p === q || heardFrom(p, q) >= 50)), 15_000, 'each to hear both others');
    for (const p of all) {
      expect(heardFrom(p, p)).to.equal(0);
      for (const q of all) {
        if (p === q) continue;
        // A duplicate path would deliver more packets of q than q ever sent.
        expect(heardFrom(p, q), 'no duplicates').to.be.at.most(q.media.sentPackets);
      }
    }
  });

  it('marks a crashed peer down, and after its restart media flows again without re-joining on this side', async () => {
    const R1 = '127.0.13.51';
    const R2 = '127.0.13.52';
    const r2 = await startReflector({ config: config(R2, [R1]) });
    procs.push(r2);
    let r1 = await startReflector({ config: config(R1, [R2]) });
    procs.push(r1);
    await r2.waitForLog((l) => l.event === 'peer_up', 15_000);
    const inside = await join(R2, '127.0.13.61', 'restart');
    const outside = await join(R1, '127.0.13.62', 'restart');
    await waitUntil(() => heardFrom(inside, outside) >= 25, 10_000, 'media across the pair');

    r1.signal('SIGKILL');
    await r1.exited();
    await r2.waitForLog((l) => l.event === 'peer_down' && l.peer === `${R1}:5564`, 25_000);

    r1 = await startReflector({ config: config(R1, [R2]) });
    procs.push(r1);
    await r2.waitForLog((l) => (l.event === 'peer_up' || l.event === 'peer_restarted') && l.peer === `${R1}:5564`
      && r2.logs.indexOf(l) > r2.logs.findIndex((m) => m.event === 'peer_down'), 15_000);
    // The R1 side's client joins the new R1 process; the R2 client stays in its call.
    const again = await join(R1, '127.0.13.63', 'restart');
    await waitUntil(() => heardFrom(inside, again) >= 25 && heardFrom(again, inside) >= 25, 15_000, 'media across the restarted pair');
    expect(inside.sip.remoteBye, 'the R2 client was never hung up').to.equal(false);
  });
});
