/**
 * The benchmark's pieces work (not how fast): the core child admits
 * participants through the core API and the Node load generator gets their
 * packets reflected; the C harness's RESULT line parses; the rate search
 * doubles, then bisects, within its bounds.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { CoreChild } from '../../tools/bench/core-client.js';
import { parseResultLine } from '../../tools/bench/harness.js';
import { runLoadgen } from '../../tools/bench/loadgen-engine.js';
import { searchSustained, judge } from '../../tools/bench/search.js';
import { runCell } from '../../tools/bench/fanout.js';
import { buildPerfRefs } from '../../tools/bench/perf-refs.js';
import { inviteToOkMs } from '../../tools/bench/sip-join.js';
import { repoRoot } from '../../tools/bench/paths.js';
import { IMPLS } from '../../tools/bench/reflectors.js';
import { cpuSeconds, parseStatTicks } from '../../tools/bench/proc-stats.js';

const CORE_HOST = '127.0.7.200';
const CORE_PORT = 26100;
const BIND = '127.0.7.201';

describe('tools/bench', () => {
  let core: CoreChild | undefined;

  afterEach(async () => {
    if (core) await core.close();
    core = undefined;
  });

  it('reflects the load generator’s packets through a real core child, within each session only', async function () {
    this.timeout(20000);
    const c = await CoreChild.start({ listen: CORE_HOST, audioPort: CORE_PORT, readyTimeoutMs: 15000 });
    core = c;
    let joined = 0;
    let memBefore = 0;
    let participantsSeen = 0;
    const r = await runLoadgen({
      bindAddress: BIND,
      targetAddress: CORE_HOST,
      targetPort: CORE_PORT,
      sessions: 2,
      parties: 3,
      ratePps: 20,
      sizeBytes: 172,
      durationS: 0.6,
      warmupS: 0.2,
      sessionPrefix: 'bench-test-',
      admit: async (groups) => {
        memBefore = (await c.mem()).rssBytes;
        joined = (await c.join(groups)).joined;
      },
      beforeClose: async () => {
        participantsSeen = (await c.stats()).participants;
      },
    });
    expect(joined).to.equal(6);
    expect(participantsSeen).to.equal(6);
    expect(memBefore).to.be.greaterThan(0);
    expect(r.sent).to.be.greaterThan(0);
    expect(r.expected).to.equal(r.sent * 2);
    expect(r.received).to.be.greaterThan(0);
    expect(r.received).to.be.at.most(r.expected);
    expect(r.misrouted).to.equal(0);
    expect(r.selfEcho).to.equal(0);
    expect(r.bad).to.equal(0);
    expect(r.p50Ms).to.be.at.least(0);
    expect(r.minPairDelivery).to.be.greaterThan(0);
  });

  it('runs one bench cell against a core child, with participants.c when ../shared/perf is there, else the Node generator', async function () {
    this.timeout(30000);
    const refs = buildPerfRefs();
    const r = await runCell(
      'ours',
      { parties: 3, sizeBytes: 172 },
      { plan: { startOutPps: 600, maxOutPps: 600, maxGrowSteps: 0, bisectSteps: 0 }, pointS: 0.3, warmupS: 0.1, halfS: 0.3 },
      { refs, host: '127.0.7.202', port: CORE_PORT, loadgenBind: '127.0.7.203' },
    );
    expect(r.harness).to.equal(refs.participants !== undefined ? 'participants.c' : 'node-loadgen');
    expect(r.points).to.have.length.greaterThan(0);
    const first = r.points[0];
    expect(first?.reason ?? '').to.not.match(/^error/);
    expect(first?.out).to.be.greaterThan(0);
    expect(first?.lossPct).to.be.at.least(0);
    expect(r.joinUs?.max).to.be.greaterThan(0);
    // Beside the throughput: CPU per out packet (/proc/<pid>/stat), kernel drops, loop delay of ours.
    expect(first?.cpuUsPerOutPkt, 'CPU µs per out packet').to.be.a('number').and.to.be.at.least(0);
    expect(first?.rxQueueDrops).to.be.a('number').and.to.be.at.least(0);
    expect(first?.loopP99Ms, 'event-loop delay of the core child').to.be.a('number').and.to.be.at.least(0);
    expect(first?.loopMaxMs).to.be.at.least(first?.loopP99Ms ?? 0);
    expect(r.rcvbufBytes, 'effective SO_RCVBUF of the media socket (ss)').to.be.a('number').and.to.be.greaterThan(0);
  });

  it('reads utime + stime from /proc/<pid>/stat, also when the command name has spaces and parentheses', () => {
    const stat = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 0 11 0 100 0 0';
    expect(parseStatTicks(stat)).to.equal(168);
    expect(parseStatTicks('garbage')).to.equal(undefined);
    const own = cpuSeconds(process.pid);
    expect(own).to.be.a('number').and.to.be.at.least(0);
    expect(cpuSeconds(undefined)).to.equal(undefined);
  });

  it('falls back to the Node generator as harness when the references are missing', async function () {
    this.timeout(30000);
    const r = await runCell(
      'ours',
      { parties: 3, sizeBytes: 200 },
      { plan: { startOutPps: 600, maxOutPps: 600, maxGrowSteps: 0, bisectSteps: 0 }, pointS: 0.3, warmupS: 0.1, halfS: 0.3 },
      { refs: { sourceDir: '/nonexistent', missing: ['absent in this test'] }, host: '127.0.7.204', port: CORE_PORT, loadgenBind: '127.0.7.205' },
    );
    expect(r.harness).to.equal('node-loadgen');
    expect(r.points[0]?.reason ?? '').to.not.match(/^error/);
    expect(r.points[0]?.out).to.be.greaterThan(0);
  });

  it('times INVITE → 200 OK per call from a SIPp -trace_msg log, ignoring the 200 OK to BYE', () => {
    const dash = '-'.repeat(47);
    const log = [
      `${dash} 2026-11-22 03:28:22.373192`,
      'UDP message sent (515 bytes):\n\nINVITE sip:s@127.0.7.40:5060 SIP/2.0\nCall-ID: 1-1@h\nCSeq: 1 INVITE\n',
      `${dash} 2026-11-22 03:28:22.403888`,
      'UDP message received [563] bytes :\n\nSIP/2.0 200 OK\nCall-ID: 1-1@h\nCSeq: 1 INVITE\n',
      `${dash} 2026-11-22 03:28:22.609095`,
      'UDP message sent (359 bytes):\n\nBYE sip:s@127.0.7.40:5060 SIP/2.0\nCall-ID: 1-1@h\nCSeq: 2 BYE\n',
      `${dash} 2026-11-22 03:28:22.611339`,
      'UDP message received [298] bytes :\n\nSIP/2.0 200 OK\nCall-ID: 1-1@h\nCSeq: 2 BYE\n',
      `${dash} 2026-11-22 03:28:23.000000`,
      'UDP message sent (515 bytes):\n\nINVITE sip:s@127.0.7.40:5060 SIP/2.0\nCall-ID: 2-1@h\nCSeq: 1 INVITE\n',
    ].join('\n');
    const t = inviteToOkMs(log);
    expect(t).to.have.length(1);
    expect(t[0]).to.be.closeTo(30.696, 0.001);
  });

  it('compares ours, c and naive only (the tools/native prototype is gone) and checks --io before running anything', function () {
    this.timeout(20000);
    expect([...IMPLS].sort()).to.deep.equal(['c', 'naive', 'ours']);
    const bench = join(repoRoot(), 'dist', 'tools', 'bench.js');
    const run = (args: readonly string[]): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, [bench, ...args], { encoding: 'utf8', timeout: 15000 });
      return { status: r.status, stderr: r.stderr };
    };
    const mmsg = run(['--impl', 'c,ours,mmsg']);
    expect(mmsg.status).to.equal(2);
    expect(mmsg.stderr).to.include('unknown impl mmsg');
    expect(mmsg.stderr).to.include('--io auto|dgram|mmsg');
    const io = run(['--io', 'uring']);
    expect(io.status).to.equal(2);
    expect(io.stderr).to.include('--io must be auto, dgram or mmsg');
  });

  it('--mixer-only reports the mixer\'s cost at 8 and 16 kHz as JSON lines (no speed asserted)', function () {
    this.timeout(60000);
    const bench = join(repoRoot(), 'dist', 'tools', 'bench.js');
    const r = spawnSync(process.execPath, [bench, '--mixer-only', '--quick'], { encoding: 'utf8', timeout: 50000 });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.type === 'mixer');
    expect(lines.map((o) => o.rateHz).sort()).to.deep.equal([16000, 16000, 8000, 8000]);
    for (const o of lines) {
      expect(o.packetsOut, 'one packet per participant per frame').to.equal((o.frames as number) * (o.participants as number));
      expect(o.participantsPerCore).to.be.a('number').and.to.be.greaterThan(0);
    }
    expect(r.stderr).to.include('mixed participants per core');
  });

  it('--relay-only reports CPU per relayed packet, plain and protected, as JSON lines (no speed asserted)', function () {
    this.timeout(60000);
    const bench = join(repoRoot(), 'dist', 'tools', 'bench.js');
    const r = spawnSync(process.execPath, [bench, '--relay-only', '--quick'], { encoding: 'utf8', timeout: 50000 });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.type === 'relay');
    expect(lines.map((o) => `${String(o.sizeBytes)}/${String(o.protected)}`).sort()).to.deep.equal(['1200/false', '1200/true', '172/false', '172/true']);
    for (const o of lines) {
      expect(o.error, String(o.error)).to.equal(undefined);
      // Loopback UDP under a loaded CI machine may drop a few; the figure is per delivered packet.
      expect(o.delivered, 'relayed packets arrived').to.be.at.least(Math.floor((o.packets as number) * 0.95));
      expect(o.cpuUsPerPacket).to.be.a('number').and.to.be.greaterThan(0);
    }
    expect(r.stderr).to.include('µs CPU per relayed packet plain');
  });

  it('parses the C harness RESULT line and rejects an incomplete one', () => {
    const line =
      'RESULT K=10 R=1000 S=172 D=1 sent=10010 received=90090 expected=90090 loss_pct=0.0000 send_pct=100.00 ' +
      'out_pps=90087 in_pps=10010 p50_us=231 p99_us=1248 max_us=3642 refl_drops=0 harness_drops=0 cpu0=50.4 ' +
      'cpu1=62.4 steal0=0.8 steal1=0.0 harness_cpu=33.0 self=0 min_pair=1.0000';
    const r = parseResultLine(line);
    expect(r?.parties).to.equal(10);
    expect(r?.outPps).to.equal(90087);
    expect(r?.p99Us).to.equal(1248);
    expect(r?.lossPct).to.equal(0);
    expect(parseResultLine('RESULT K=10 sent=3')).to.equal(undefined);
    expect(parseResultLine('participants: K=10')).to.equal(undefined);
  });

  it('searches by doubling until a failure, then bisects between the last pass and the first fail', async () => {
    const tried: number[] = [];
    const limit = 50000;
    const out = await searchSustained({ startOutPps: 8000, maxOutPps: 1_000_000, maxGrowSteps: 8, bisectSteps: 3 }, async (rate) => {
      tried.push(rate);
      return { offeredOutPps: rate, pass: rate <= limit, result: rate };
    });
    expect(tried.slice(0, 4)).to.deep.equal([8000, 16000, 32000, 64000]);
    expect(tried.length).to.equal(7);
    expect(out.best?.offeredOutPps).to.be.at.most(limit);
    expect(out.best?.offeredOutPps).to.be.greaterThan(32000);
    expect(out.capped).to.equal(false);
    const failing: number[] = [];
    const none = await searchSustained({ startOutPps: 8000, maxOutPps: 1_000_000, minOutPps: 1000, maxGrowSteps: 8, bisectSteps: 3 }, async (rate) => {
      failing.push(rate);
      return { offeredOutPps: rate, pass: false };
    });
    expect(failing).to.deep.equal([8000, 4000, 2000, 1000]);
    expect(none.best).to.equal(undefined);
    expect(judge(0.2, 1, 100).pass).to.equal(false);
    expect(judge(0, 6, 100).pass).to.equal(false);
    expect(judge(0, 1, 80).pass).to.equal(false);
    expect(judge(0.05, 4.9, 99).pass).to.equal(true);
  });
});
