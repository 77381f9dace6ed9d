/**
 * The status API and metrics with real sessions present: a real core and the
 * ops server in-process, two participants on real UDP sockets (127.0.5.x).
 */
import { expect } from 'chai';
import type { Socket } from 'node:dgram';
import type { Config } from '../../src/config/types.js';
import type { Ops } from '../../src/ops/index.js';
import type { ReflectorCore } from '../../src/reflector/api.js';
import { parsePrometheusText, promValue } from '../helpers/prom-text.js';
import { waitUntil } from '../helpers/wait.js';
import { bindSocket, joinPcmu, opsConfig, startOpsStack, type OpsStack } from './harness.js';

const ADDR = '127.0.5.1';
const TOKEN = 'test-admin-token';

function rtp(seq: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq, 2); b.writeUInt32BE(seq * 160, 4); b.writeUInt32BE(ssrc, 8);
  return b;
}

interface SessionJson {
  name: string;
  participants: { id: string; user?: string; streams: { medium: string; counters: { rtpPacketsIn: number; rtpPacketsOut: number } }[] }[];
}

describe('ops: status API and metrics', function () {
  let config: Config;
  let stack: OpsStack;
  let core: ReflectorCore;
  let ops: Ops;
  let a: Socket;
  let b: Socket;
  let base: string;
  let ids: string[];
  let sender: NodeJS.Timeout | undefined;

  beforeEach(async () => {
    config = opsConfig(ADDR, { adminToken: TOKEN });
    stack = await startOpsStack(config, { pollMs: 50 });
    ({ core, ops, base } = stack);
    a = await bindSocket('127.0.5.11');
    b = await bindSocket('127.0.5.12');
    ids = [a, b].map((s, i) => joinPcmu(core, 'ops weekly', i === 0 ? 'alice' : 'bob', s));
  });

  afterEach(async () => {
    if (sender) clearInterval(sender);
    sender = undefined;
    a.close(); b.close();
    await stack.close();
  });

  function startSending(): void {
    let seq = 0;
    sender = setInterval(() => {
      seq++;
      a.send(rtp(seq, 0x1111), config.audioPort, ADDR);
      b.send(rtp(seq, 0x2222), config.audioPort, ADDR);
    }, 10);
  }

  async function sessions(): Promise<SessionJson[]> {
    const r = await fetch(`${base}/api/sessions`);
    expect(r.status).to.equal(200);
    return (await r.json()) as SessionJson[];
  }

  it('lists the session with both participants and their counters growing while they send', async () => {
    startSending();
    const first = await waitUntil(async () => {
      const list = await sessions();
      const s = list.find((x) => x.name === 'ops weekly');
      const alice = s?.participants.find((p) => p.user === 'alice');
      const n = alice?.streams.find((st) => st.medium === 'audio')?.counters.rtpPacketsIn ?? 0;
      return n >= 5 ? { s, n } : undefined;
    }, 5000, 'alice to have sent 5 packets');
    expect(first.s?.participants.map((p) => p.user).sort()).to.deep.equal(['alice', 'bob']);
    const later = await waitUntil(async () => {
      const s = (await sessions()).find((x) => x.name === 'ops weekly');
      const alice = s?.participants.find((p) => p.user === 'alice');
      const audio = alice?.streams.find((st) => st.medium === 'audio');
      return audio && audio.counters.rtpPacketsIn > first.n && audio.counters.rtpPacketsOut > 0 ? audio : undefined;
    }, 5000, 'counters to grow');
    expect(later.counters.rtpPacketsIn).to.be.greaterThan(first.n);

    const status = (await (await fetch(`${base}/api/status`)).json()) as Record<string, unknown>;
    expect(status.sessions).to.equal(1);
    expect(status.participants).to.equal(2);
    expect(status.reflectorId).to.equal(config.reflectorId);
    expect(await (await fetch(`${base}/api/peers`)).json()).to.deep.equal([]);
    expect(await (await fetch(`${base}/api/shares`)).json()).to.deep.equal([]);
    expect(await (await fetch(`${base}/api/files`)).json()).to.deep.equal([]);
    const events = (await (await fetch(`${base}/api/events`)).json()) as { event: string; user?: string }[];
    expect(events.filter((e) => e.event === 'join').map((e) => e.user).sort()).to.deep.equal(['alice', 'bob']);
  });

  it('serves /metrics that pass a strict text-format parse and count the traffic', async () => {
    startSending();
    const fams = await waitUntil(async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const f = parsePrometheusText(text);
      const n = promValue(f, 'reflector_packets_total', { medium: 'audio', kind: 'rtp', direction: 'in' }) ?? 0;
      return n >= 5 ? f : undefined;
    }, 5000, 'packets in the metrics');
    expect(promValue(fams, 'reflector_participants')).to.equal(2);
    expect(promValue(fams, 'reflector_sessions')).to.equal(1);
    expect(fams.get('reflector_packets_total')?.type).to.equal('counter');
    expect(promValue(fams, 'reflector_packets_total', { medium: 'audio', kind: 'rtp', direction: 'out' })).to.be.greaterThan(0);
    expect(fams.has('reflector_process_nodejs_eventloop_lag_seconds')).to.equal(true);
  });

  it('refuses mutations without the bearer token and performs them with it', async () => {
    const url = `${base}/api/participants/${encodeURIComponent(ids[0])}`;
    const none = await fetch(url, { method: 'DELETE' });
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
    const wrong = await fetch(url, { method: 'DELETE', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).to.equal(401);
    expect(core.has(ids[0])).to.equal(true);
    const ok = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).to.equal(200);
    expect(core.has(ids[0])).to.equal(false);
    const events = (await (await fetch(`${base}/api/events`)).json()) as { event: string; participant?: string; reason?: string }[];
    expect(events[0]).to.include({ event: 'leave', participant: ids[0], reason: 'kicked' });
    const gone = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(gone.status).to.equal(404);

    const sessionUrl = `${base}/api/sessions/${encodeURIComponent('ops weekly')}`;
    ops.reload({ ...config, adminToken: undefined });
    const disabled = await fetch(sessionUrl, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(disabled.status).to.equal(403);
    expect(core.has(ids[1])).to.equal(true);
    ops.reload(config);
    const ended = await fetch(sessionUrl, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ended.status).to.equal(200);
    expect(core.has(ids[1])).to.equal(false);
  });

  it('answers unknown paths and methods with clear errors', async () => {
    expect((await fetch(`${base}/api/nothing`)).status).to.equal(404);
    const post = await fetch(`${base}/api/status`, { method: 'POST', body: 'x' });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.contain('GET');
  });
});
