/**
 * Interconnection graphs with cycles with REAL reflector processes
 * (`node dist/src/main.js`, test/helpers/reflector-process.ts) on 127.0.20.1–5
 * and SIP conference members (tools/lib: our SIP UAC + PCMU media endpoint) on
 * 127.0.21.x: a triangle, a full mesh of four and a ring of five.
 *
 * For every participant: RTP packets received from each other participant =
 * packets that participant sent, zero duplicates, nothing of its own; the
 * counts of /api/sessions settle to the true numbers and everything is gone
 * from /api/sessions and /api/peers within 20 s after all have left. In the
 * ring, one link is cut (its REFLECTOR_INTERCONNECTION line removed on both
 * ends + SIGHUP) and everyone still hears everyone, exactly once.
 */
import { expect } from 'chai';
import { MediaEndpoint, clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { startReflector, type LogRecord, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';

const RELAY_PORT = 5564;
const SEND_MS = 2000;
const reflectorIp = (i: number): string => `127.0.20.${i + 1}`;
const memberIp = (i: number): string => `127.0.21.${i + 1}`;

type Edge = readonly [number, number];
const TRIANGLE: Edge[] = [[0, 1], [1, 2], [2, 0]];
const MESH4: Edge[] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];
const RING5: Edge[] = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]];

interface Member {
  readonly at: number;
  readonly sip: SipUdpClient;
  readonly media: MediaEndpoint;
}

interface SessionJson { name: string; participants: unknown[]; remoteCounts: Record<string, number> }
interface PeerJson { key: string; up: boolean; sessions: Record<string, number> }

function configFor(i: number, edges: readonly Edge[]): string {
  const peers: string[] = [];
  for (const [a, b] of edges) {
    if (a === i) peers.push(reflectorIp(b));
    if (b === i) peers.push(reflectorIp(a));
  }
  const self = reflectorIp(i);
  return [
    `REFLECTOR_ID cyc-${i}`,
    `LISTEN_ADDRESS ${self}`,
    `PUBLIC_ADDRESS ${self}`,
    `STATUS_LISTEN ${self}:8080`,
    'LOG_LEVEL info',
    ...peers.map((p) => `REFLECTOR_INTERCONNECTION ${p} ${RELAY_PORT}`),
    '',
  ].join('\n');
}

async function getJson<T>(i: number, path: string): Promise<T> {
  const res = await fetch(`http://${reflectorIp(i)}:8080${path}`);
  return (await res.json()) as T;
}

/** Per reflector: local participants + the peers' COUNTs (remoteCounts) of `session`. */
async function seenTotals(n: number, session: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = (await getJson<SessionJson[]>(i, '/api/sessions')).find((x) => x.name === session);
    out.push(s === undefined ? 0 : s.participants.length + Object.values(s.remoteCounts).reduce((a, b) => a + b, 0));
  }
  return out;
}

const isEvent = (event: string) => (r: LogRecord): boolean => r.event === event;

describe('interconnect: graphs with cycles of real reflector processes', function () {
  this.timeout(90_000);
  let procs: ReflectorProcess[] = [];
  let members: Member[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of procs) process.stderr.write(`--- ${p.configFile}\n${p.output().slice(-5000)}\n`);
    }
    for (const m of members) {
      m.sip.close();
      await m.media.close();
    }
    members = [];
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  });

  async function startTopology(n: number, edges: readonly Edge[]): Promise<void> {
    procs = await Promise.all(Array.from({ length: n }, (_, i) => startReflector({ config: configFor(i, edges) })));
    const degree = (i: number): number => edges.filter(([a, b]) => a === i || b === i).length;
    await waitUntil(async () => {
      for (let i = 0; i < n; i++) {
        const peers = await getJson<PeerJson[]>(i, '/api/peers');
        if (peers.filter((p) => p.up).length !== degree(i)) return false;
      }
      return true;
    }, 20_000, 'all links up', 200);
  }

  /** Joins one member at reflector `at`; media is bound but not sent yet. */
  async function join(at: number, session: string): Promise<Member> {
    const local = memberIp(members.length);
    const media = new MediaEndpoint({ localAddress: local, remoteAddress: reflectorIp(at), remoteRtpPort: 5566, toneHz: 440 + 100 * members.length, cname: local });
    const rtpPort = await media.bind();
    const sip = new SipUdpClient({ localAddress: local, server: reflectorIp(at), serverPort: 5060 });
    const m = { at, sip, media };
    members.push(m);
    await sip.bind();
    const res = await sip.invite(session, clientSdp(local, rtpPort, media.ssrc, local));
    expect(res.status, `join at R${at}`).to.equal(200);
    return m;
  }

  async function settled(n: number, session: string): Promise<void> {
    const total = members.length;
    await waitUntil(async () => (await seenTotals(n, session)).every((t) => t === total), 20_000, `every reflector counts ${total}`, 200);
    // JOINS travel with the counts; a moment for the last SESSION_STATE to be processed everywhere.
    await new Promise((r) => setTimeout(r, 500));
  }

  /** Everyone sends for SEND_MS, stops; then each must have heard every other exactly once per packet. */
  async function talkAndCheck(): Promise<void> {
    const before = members.map((m) => ({
      sent: m.media.sentPackets,
      heard: new Map(members.map((o) => [o.media.ssrc, m.media.received.get(o.media.ssrc)?.packets ?? 0])),
      dups: [...m.media.received.values()].reduce((a, s) => a + s.duplicates, 0),
    }));
    for (const m of members) m.media.start();
    await new Promise((r) => setTimeout(r, SEND_MS));
    for (const m of members) m.media.stop();
    await new Promise((r) => setTimeout(r, 700));
    members.forEach((m, i) => {
      expect(m.media.received.get(m.media.ssrc), `member ${i} heard itself`).to.equal(undefined);
      const dups = [...m.media.received.values()].reduce((a, s) => a + s.duplicates, 0);
      expect(dups - before[i].dups, `duplicates at member ${i}`).to.equal(0);
      members.forEach((o, j) => {
        if (j === i) return;
        const sent = o.media.sentPackets - before[j].sent;
        const heard = (m.media.received.get(o.media.ssrc)?.packets ?? 0) - (before[i].heard.get(o.media.ssrc) ?? 0);
        expect(sent, `member ${j} sent`).to.be.greaterThan(SEND_MS / 20 / 2);
        expect(heard, `member ${i} (R${m.at}) from member ${j} (R${o.at})`).to.equal(sent);
      });
    });
    // RTCP crossed too (one SR per second per sender).
    for (const m of members) {
      for (const o of members) if (o !== m) expect(m.media.received.get(o.media.ssrc)?.rtcpPackets ?? 0).to.be.at.least(1);
    }
  }

  async function leaveAllAndSeeZero(n: number, session: string): Promise<void> {
    await Promise.all(members.map((m) => m.sip.bye()));
    const t0 = Date.now();
    await waitUntil(async () => {
      for (let i = 0; i < n; i++) {
        const sessions = await getJson<SessionJson[]>(i, '/api/sessions');
        if (sessions.some((s) => s.name === session)) return false;
        const peers = await getJson<PeerJson[]>(i, '/api/peers');
        if (peers.some((p) => Object.keys(p.sessions).length > 0)) return false;
      }
      return true;
    }, 20_000, 'counts 0 everywhere within 20 s', 200);
    expect(Date.now() - t0).to.be.below(20_000);
  }

  function noDuplicateDrops(): void {
    for (const p of procs) {
      const bad = p.logs.filter((r) => r.event === 'interconnect_drop' &&
        (r.reason === 'relay_own_origin' || r.reason === 'relay_duplicate' || r.reason === 'relay_hop_limit'));
      expect(bad, `${p.configFile}: loop drops`).to.deep.equal([]);
    }
  }

  it('a triangle: exactly once to everyone, never back, counts true and then 0', async () => {
    await startTopology(3, TRIANGLE);
    for (const at of [0, 1, 1, 2]) await join(at, 'triangle');
    await settled(3, 'triangle');
    await talkAndCheck();
    noDuplicateDrops();
    await leaveAllAndSeeZero(3, 'triangle');
  });

  it('a full mesh of four: exactly once to everyone, never back, counts true and then 0', async () => {
    await startTopology(4, MESH4);
    for (const at of [0, 1, 2, 3, 3]) await join(at, 'mesh');
    await settled(4, 'mesh');
    await talkAndCheck();
    noDuplicateDrops();
    await leaveAllAndSeeZero(4, 'mesh');
  });

  it('a ring of five: exactly once to everyone; with one link cut (SIGHUP) still everyone hears everyone', async () => {
    await startTopology(5, RING5);
    for (const at of [0, 1, 2, 3, 4]) await join(at, 'ring');
    await settled(5, 'ring');
    await talkAndCheck();
    noDuplicateDrops();

    // Cut R0–R1: both drop the line and reload. The path 0-4-3-2-1 remains.
    const cut: Edge[] = RING5.filter(([a, b]) => !(a === 0 && b === 1));
    for (const i of [0, 1]) {
      procs[i].writeConfig(configFor(i, cut));
      procs[i].signal('SIGHUP');
    }
    await Promise.all([0, 1].map((i) => procs[i].waitForLog(isEvent('peer_removed'), 10_000)));
    await waitUntil(async () => (await getJson<PeerJson[]>(0, '/api/peers')).length === 1 &&
      (await getJson<PeerJson[]>(1, '/api/peers')).length === 1, 10_000, 'link cut', 200);
    await settled(5, 'ring');
    await talkAndCheck();
    noDuplicateDrops();
    await leaveAllAndSeeZero(5, 'ring');
  });
});
