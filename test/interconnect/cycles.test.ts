/**
 * Interconnection graphs with cycles (docs/protocol.md, "Graphs with cycles"):
 * a triangle, a full mesh of four and a ring of five interconnects on real UDP
 * sockets (127.0.20.x), with stand-in cores (stand-in-core.ts) so that every
 * datagram a reflector delivers locally can be counted. Every participant's
 * datagrams reach every other reflector exactly once and never come back, the
 * counts are the true numbers and fall to 0, relay happens only towards
 * reflectors that need it, and a cut link in a cycle is routed around.
 * The same topologies with real reflector processes and SIP clients are in
 * cycles-process.test.ts.
 */
import { expect } from 'chai';
import { waitUntil } from '../helpers/wait.js';
import { keyOf, peerSnap, rtcpPacket, rtpPacket, useTestNodes, type TestNode, type TestNodes } from './harness.js';

const ip = (n: number): string => `127.0.20.${n}`;

type Edge = readonly [number, number];
const TRIANGLE: Edge[] = [[0, 1], [1, 2], [2, 0]];
const MESH4: Edge[] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];
const RING5: Edge[] = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]];

function neighbours(n: number, edges: readonly Edge[]): number[] {
  const out: number[] = [];
  for (const [a, b] of edges) {
    if (a === n) out.push(b);
    if (b === n) out.push(a);
  }
  return out;
}

async function build(t: TestNodes, size: number, edges: readonly Edge[], base: number): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = 0; i < size; i++) nodes.push(await t.start(ip(base + i), neighbours(i, edges).map((j) => ip(base + j))));
  return nodes;
}

/** Sum of a node's peers' COUNTs for `session` (what /api/sessions shows as remoteCounts). */
function peerCountSum(node: TestNode, session: string): number {
  let n = 0;
  for (const p of node.link.peers()) n += p.sessions[session] ?? 0;
  return n;
}

function countsSettled(nodes: readonly TestNode[], session: string, local: readonly number[]): boolean {
  const total = local.reduce((a, b) => a + b, 0);
  return nodes.every((n, i) => n.link.remoteCount(session) === total - local[i] && peerCountSum(n, session) === total - local[i]);
}

/** Each node with participants sends `perNode` RTP datagrams and one RTCP; payload names node and index. */
function sendAll(nodes: readonly TestNode[], session: string, local: readonly number[], perNode: number): void {
  for (let k = 0; k < perNode; k++) {
    nodes.forEach((n, i) => {
      if (local[i] > 0) n.core.sendFromParticipant(session, 'audio', false, rtpPacket(k, `n${i}-${k}`));
    });
  }
  nodes.forEach((n, i) => {
    if (local[i] > 0) n.core.sendFromParticipant(session, 'audio', true, rtcpPacket(0x1000 + i));
  });
}

/** delivered[node] → tag → times, plus RTCP by SSRC. */
function tally(node: TestNode, session: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of node.core.delivered) {
    if (d.session !== session) continue;
    const tag = d.rtcp ? `rtcp-${d.packet.readUInt32BE(4) - 0x1000}` : d.packet.subarray(12).toString('latin1');
    m.set(tag, (m.get(tag) ?? 0) + 1);
  }
  return m;
}

function expectExactlyOnce(nodes: readonly TestNode[], session: string, local: readonly number[], perNode: number): void {
  nodes.forEach((n, i) => {
    const t = tally(n, session);
    const expected = new Map<string, number>();
    local.forEach((c, j) => {
      if (c === 0 || j === i) return;
      for (let k = 0; k < perNode; k++) expected.set(`n${j}-${k}`, 1);
      expected.set(`rtcp-${j}`, 1);
    });
    // Reflectors without participants deliver locally too (to nobody); what matters is once, never our own.
    if (local[i] === 0) return;
    expect(Object.fromEntries(t), `delivered at node ${i}`).to.deep.equal(Object.fromEntries(expected));
  });
}

async function deliveredAll(nodes: readonly TestNode[], session: string, local: readonly number[], perNode: number): Promise<void> {
  const total = local.filter((c) => c > 0).length;
  await waitUntil(() => nodes.every((n, i) => local[i] === 0 ||
    tally(n, session).size === (total - 1) * (perNode + 1)), 5000, 'every datagram delivered');
  // Let anything late (a duplicate) arrive before counting.
  await new Promise((r) => setTimeout(r, 200));
}

describe('interconnect: graphs with cycles (stand-in cores)', function () {
  this.timeout(20_000);
  const t = useTestNodes();

  for (const [name, size, edges, base] of [
    ['a triangle', 3, TRIANGLE, 10],
    ['a full mesh of four', 4, MESH4, 20],
    ['a ring of five', 5, RING5, 30],
  ] as const) {
    it(`${name}: each datagram once everywhere, never back to its origin, true counts that fall to 0`, async () => {
      const nodes = await build(t, size, edges, base);
      const local = nodes.map((_, i) => (i === 1 ? 2 : 1));
      const ids = nodes.map((n, i) => Array.from({ length: local[i] }, () => n.core.addParticipant('cyc')));
      await waitUntil(() => countsSettled(nodes, 'cyc', local), 5000, 'counts settled');
      sendAll(nodes, 'cyc', local, 20);
      await deliveredAll(nodes, 'cyc', local, 20);
      expectExactlyOnce(nodes, 'cyc', local, 20);
      for (const n of nodes) {
        const drops = n.link.drops();
        expect(drops.relay_own_origin ?? 0, 'own datagrams came back').to.equal(0);
        expect(drops.relay_duplicate ?? 0, 'duplicates were sent').to.equal(0);
      }
      // Each datagram crossed size - 1 links (a spanning tree): no link carried it twice.
      const out = nodes.reduce((a, n) => a + n.link.peers().reduce((b, p) => b + p.relayPacketsOut, 0), 0);
      expect(out).to.equal(size * (size - 1) * 21);

      ids.forEach((list, i) => { for (const id of list) nodes[i].core.removeParticipant('cyc', id); });
      await waitUntil(() => nodes.every((n) => n.link.remoteCount('cyc') === 0 && peerCountSum(n, 'cyc') === 0 &&
        n.link.peers().every((p) => Object.keys(p.sessions).length === 0)), 5000, 'counts 0 everywhere');
    });
  }

  it('relays only towards reflectors that have participants behind them', async () => {
    // Ring of five; participants at 0 and 2 only: the path 0-1-2 carries the media, 3 and 4 nothing.
    const nodes = await build(t, 5, RING5, 40);
    const local = [1, 0, 1, 0, 0];
    nodes[0].core.addParticipant('sparse');
    nodes[2].core.addParticipant('sparse');
    await waitUntil(() => countsSettled(nodes, 'sparse', local), 5000, 'counts settled');
    sendAll(nodes, 'sparse', local, 10);
    await deliveredAll(nodes, 'sparse', local, 10);
    expectExactlyOnce(nodes, 'sparse', local, 10);
    for (const i of [3, 4]) {
      for (const p of nodes[i].link.peers()) expect(p.relayPacketsIn + p.relayPacketsOut, `node ${i}`).to.equal(0);
    }
    expect(peerSnap(nodes[0], nodes[1]).relayPacketsOut).to.equal(11);
    expect(peerSnap(nodes[1], nodes[2]).relayPacketsOut).to.equal(11);
  });

  it('routes around a link removed from a ring, and back when it returns', async () => {
    const nodes = await build(t, 5, RING5, 50);
    const local = [1, 1, 1, 1, 1];
    for (const n of nodes) n.core.addParticipant('cut');
    await waitUntil(() => countsSettled(nodes, 'cut', local), 5000, 'counts settled');

    // Cut 0–1 on both ends (as a reload without that REFLECTOR_INTERCONNECTION line does).
    const without = (i: number, j: number): void => {
      const n = nodes[i];
      n.config = { ...n.config, peers: n.config.peers.filter((p) => p.address !== ip(50 + j)) };
      n.link.reload(n.config);
    };
    without(0, 1);
    without(1, 0);
    await waitUntil(() => countsSettled(nodes, 'cut', local), 5000, 'counts settled after the cut');
    for (const n of nodes) n.core.delivered.length = 0;
    sendAll(nodes, 'cut', local, 10);
    await deliveredAll(nodes, 'cut', local, 10);
    expectExactlyOnce(nodes, 'cut', local, 10);
    expect(nodes[0].link.peers().map((p) => p.key)).to.deep.equal([keyOf(ip(54))]);

    // The link comes back.
    for (const [i, j] of [[0, 1], [1, 0]] as const) {
      const n = nodes[i];
      n.config = { ...n.config, peers: [...n.config.peers, { address: ip(50 + j), rtpRelayPort: n.config.peers[0].rtpRelayPort }] };
      n.link.reload(n.config);
    }
    await waitUntil(() => peerSnap(nodes[0], nodes[1]).up && countsSettled(nodes, 'cut', local), 5000, 'counts settled after the return');
    await new Promise((r) => setTimeout(r, 100));
    for (const n of nodes) n.core.delivered.length = 0;
    sendAll(nodes, 'cut', local, 10);
    await deliveredAll(nodes, 'cut', local, 10);
    expectExactlyOnce(nodes, 'cut', local, 10);
    // 0 and 1 talk directly again.
    expect(peerSnap(nodes[1], nodes[0]).relayPacketsIn).to.be.greaterThan(0);
  });

  it('routes around a reflector that went away (down after missed HELLOs), without duplicates', async () => {
    // Ring of four: 0-1-2-3-0. Reflector 1 goes; 0 and 2 must then reach each other through 3.
    const RING4: Edge[] = [[0, 1], [1, 2], [2, 3], [3, 0]];
    const nodes = await build(t, 4, RING4, 60);
    for (const n of nodes) n.core.addParticipant('gone');
    await waitUntil(() => countsSettled(nodes, 'gone', [1, 1, 1, 1]), 5000, 'counts settled');
    const gone = nodes[1];
    await gone.link.close();
    const rest = [nodes[0], nodes[2], nodes[3]];
    await gone.link.close();
    await waitUntil(() => !peerSnap(rest[0], gone).up && !peerSnap(rest[1], gone).up, 5000, 'reflector 1 down (missed HELLOs)');
    await waitUntil(() => countsSettled(rest, 'gone', [1, 1, 1]), 5000, 'counts without reflector 1');
    await new Promise((r) => setTimeout(r, 100));
    for (const n of rest) n.core.delivered.length = 0;
    sendAll(rest, 'gone', [1, 1, 1], 10);
    await deliveredAll(rest, 'gone', [1, 1, 1], 10);
    expectExactlyOnce(rest, 'gone', [1, 1, 1], 10);
    // 0 and 2 now talk through 3.
    expect(peerSnap(rest[2], rest[0]).relayPacketsOut).to.be.greaterThan(0);
    expect(peerSnap(rest[2], rest[1]).relayPacketsOut).to.be.greaterThan(0);
  });
});
