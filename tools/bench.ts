/**
 * tools/bench — the benchmark of SPEC §12.
 *
 *   npm run bench -- [--quick] [--cells 5x172,10x1200,…] [--impl ours,c,naive] [--workers 1,2,4] [--retries N] [--io auto|dgram|mmsg] [--no-held] [--held-only] [--no-mixer] [--mixer-only] [--no-peers] [--peers-only] [--hog] [--no-relay] [--relay-only] [--no-srtp] [--srtp-only]
 *
 * For each cell (party size × packet size) and implementation it finds the out
 * packets/s sustained at ≤ 0.1 % loss and p50 ≤ 5 ms, then p50/p99 at half
 * that rate, comparing our core with the C reference (recvmmsg/sendmmsg) and
 * the naive node:dgram loop in the same run. Then participants held, memory
 * per participant and time to join (through the core API, and through SIP with
 * SIPp against the whole reflector). Then peers side by side (peers.ts): 2-party relay
 * against rtpengine, N-party mixing against Janus AudioBridge, when installed.
 * `--hog` runs a busy loop pinned to the reflector's CPU for the whole run (a competing
 * process on the same core). One JSON line per result on stdout; a table on stderr.
 * The reference programs are compiled from ../shared/perf into .tmp/perf.
 * `--io auto|dgram|mmsg` sets REFLECTOR_IO for our core child (auto: the core's
 * batched recvmmsg/sendmmsg I/O when its addon loads, else node:dgram); the I/O
 * it used is in each of its JSON lines. Then the cost of SRTP (SPEC §15): one
 * 5-party session all plain and all SRTP at the same offered rates (out
 * packets/s, core CPU µs per out packet), and the per-packet crypto alone.
 * Our core runs with MEDIA_WORKERS 1 (REFLECTOR_MEDIA_WORKERS, unless set in the environment), pinned
 * like the others to one CPU; `--workers 1,2,4` runs the fan-out cells of ours once per count.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { costFields, runCell, type CellResult, type CellSpec, type FanoutTiming } from './bench/fanout.js';
import { measureHeld, type HeldResult } from './bench/held.js';
import { buildPerfRefs } from './bench/perf-refs.js';
import { hasTaskset, LineProcess } from './bench/proc.js';
import { IMPLS, type Impl } from './bench/reflectors.js';
import { hasSipp, measureSipJoin, type SipJoinResult } from './bench/sip-join.js';
import { benchMixer, type MixerBenchResult } from '../src/mixer/bench.js';
import { benchSrtp, type SrtpBenchResult } from './bench/srtp.js';
import { benchSrtpCrypto } from '../src/srtp/bench.js';
import { AUDIO_PPS, janusMixPoint, relayPoint, which, type PeerEnv, type PeerPoint } from './bench/peers.js';
import { VERSION } from '../src/runtime/version.js';
import { benchRelay, type RelayBenchResult } from '../src/interconnect/bench.js';

const HOSTS: Record<Impl, string> = { ours: '127.0.7.11', c: '127.0.7.12', naive: '127.0.7.13' };
const REFLECTOR_PORT = 26000;
const HELD_HOST = '127.0.7.14';
const LOADGEN_BIND = '127.0.7.21';
const SIP_HOST = '127.0.7.40';
/** SIPp clients for the SIP join (one per address: see sip-join.ts). */
const SIP_CLIENTS = ['127.0.7.41', '127.0.7.42', '127.0.7.43', '127.0.7.44', '127.0.7.45', '127.0.7.46', '127.0.7.47', '127.0.7.48'];
/**
 * The competing process of --hog: a busy loop that exits when its parent (the bench) is gone
 * (it checks its parent pid between slices of work) and after 1 hour at the latest.
 */
const HOG_SCRIPT =
  'const p = process.ppid, end = Date.now() + 3600e3; let x = 0;' +
  'for (;;) { for (let i = 0; i < 1e7; i++) x = (x + i) | 0; if (process.ppid !== p || Date.now() > end) process.exit(0); }';

/** rtpengine and Janus under test (their own address: Janus's HTTP API is on 127.0.0.1:8088). */
const PEER_HOST = '127.0.7.15';
const DEFAULT_CELLS = '5x172,10x172,20x172,5x1200,10x1200,20x1200';

interface BenchArgs {
  readonly quick: boolean;
  readonly cells: readonly CellSpec[];
  readonly impls: readonly Impl[];
  readonly held: boolean;
  readonly fanout: boolean;
  readonly retries: number;
  readonly io?: string;
  /** Measure the mixer's cost (mixed participants one core sustains at 8 and 16 kHz). */
  readonly mixer: boolean;
  /** Measure the cost of SRTP termination against plain RTP. */
  readonly srtp: boolean;
  /** Peers side by side: 2-party relay vs rtpengine, N-party mixing vs Janus AudioBridge. */
  readonly peers: boolean;
  /** A competing CPU hog pinned to the reflector's CPU for the whole run (the loaded-machine case). */
  readonly hog: boolean;
  /** Measure the inter-reflector relay's CPU per relayed packet, plain and protected (secret). */
  readonly relay: boolean;
  /** MEDIA_WORKERS counts for ours in the fan-out cells. */
  readonly workers: readonly number[];
}

const USAGE = `usage: node dist/tools/bench.js [options]   (or: npm run bench -- [options])

Finds the out packets/s each implementation sustains per cell (party size x packet size) at <= 0.1 %
loss and p50 <= 5 ms, then latency at half that rate, participants held, memory per participant, join
time, the mixer's cost and the relay's CPU per packet. One JSON line per result on stdout, a table on stderr.

  --quick                 fewer, shorter steps
  --cells LIST            cells as PARTIESxBYTES, comma-separated (default ${DEFAULT_CELLS})
  --impl LIST             ours, c (the C reference), naive (default all three)
  --workers LIST          MEDIA_WORKERS counts for ours in the fan-out cells, e.g. 1,2,4 (default 1;
                          every other measurement of ours runs with 1 unless REFLECTOR_MEDIA_WORKERS is set)
  --retries N             re-runs of a failed step, 0..5 (default 1)
  --io auto|dgram|mmsg    UDP I/O of our core (REFLECTOR_IO; default auto)
  --no-held               skip the participants-held measurement
  --held-only             only participants held (no fan-out cells)
  --no-mixer              skip the mixer measurement
  --mixer-only            only the mixer measurement
  --no-relay              skip the inter-reflector relay measurement
  --relay-only            only the relay measurement (plain and protected)
  --no-srtp               skip the SRTP cost (plain vs SRTP through the core, and the crypto alone)
  --srtp-only             only the SRTP cost
  --no-peers              skip rtpengine and Janus AudioBridge
  --peers-only            only the peers (rtpengine relay, Janus mixing) beside ours
  --hog                   run a busy loop pinned to the reflector's CPU during the run
  --version               print the version and exit
  --help                  this text
`;

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}
${USAGE}`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): BenchArgs {
  let quick = false;
  let cells = DEFAULT_CELLS;
  let impls = 'ours,c,naive';
  let held = true;
  let fanout = true;
  let retries = 1;
  let io: string | undefined;
  let mixer = true;
  let srtp = true;
  let peers = true;
  let hog = false;
  let relay = true;
  let workers = '1';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a === '--version' || a === '-V') {
      process.stdout.write(`bench ${VERSION}\n`);
      process.exit(0);
    } else if (a === '--quick') quick = true;
    else if (a === '--cells') cells = argv[++i] ?? usage('--cells needs a value');
    else if (a === '--impl') impls = argv[++i] ?? usage('--impl needs a value');
    else if (a === '--workers') workers = argv[++i] ?? usage('--workers needs a value');
    else if (a === '--no-held') held = false;
    else if (a === '--held-only') fanout = false;
    else if (a === '--no-mixer') mixer = false;
    else if (a === '--mixer-only') { fanout = false; held = false; peers = false; relay = false; srtp = false; }
    else if (a === '--no-peers') peers = false;
    else if (a === '--hog') hog = true;
    else if (a === '--peers-only') { fanout = false; held = false; mixer = false; peers = true; relay = false; srtp = false; }
    else if (a === '--no-relay') relay = false;
    else if (a === '--relay-only') { fanout = false; held = false; mixer = false; peers = false; srtp = false; }
    else if (a === '--no-srtp') srtp = false;
    else if (a === '--srtp-only') { fanout = false; held = false; mixer = false; peers = false; relay = false; }
    else if (a === '--io') {
      io = argv[++i];
      if (io !== 'auto' && io !== 'dgram' && io !== 'mmsg') usage('--io must be auto, dgram or mmsg');
    } else if (a === '--retries') {
      retries = Number(argv[++i]);
      if (!Number.isInteger(retries) || retries < 0 || retries > 5) usage('--retries must be 0..5');
    }
    else usage(`unknown argument ${String(a)}`);
  }
  const cellList = cells.split(',').map((c) => {
    const m = /^(\d+)x(\d+)$/.exec(c.trim());
    if (!m) usage(`bad cell ${c} (want PARTIESxBYTES)`);
    const parties = Number(m[1]);
    const sizeBytes = Number(m[2]);
    if (parties < 2 || parties > 200 || sizeBytes < 25 || sizeBytes > 1500) usage(`cell ${c} out of range`);
    return { parties, sizeBytes };
  });
  const workerList = workers.split(',').map((w) => {
    const n = Number(w.trim());
    if (!Number.isInteger(n) || n < 1 || n > 64) usage(`bad --workers count ${w} (1..64)`);
    return n;
  });
  const implList = impls.split(',').map((s) => s.trim()) as Impl[];
  for (const i of implList) if (!IMPLS.includes(i)) usage(`unknown impl ${i}`);
  // The C reference first in each cell, so that ratios are known when the others print.
  const order: readonly Impl[] = ['c', 'ours', 'naive'];
  implList.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return { quick, cells: cellList, impls: implList, held, fanout, retries, mixer, peers, hog, relay, srtp, workers: workerList, ...(io === undefined ? {} : { io }) };
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function round(x: number | undefined, digits = 3): number | null {
  if (x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function machineNote(): Record<string, unknown> {
  const c = cpus();
  return {
    cpus: c.length,
    cpu_model: c[0]?.model ?? 'unknown',
    mem_gib: round(totalmem() / 2 ** 30, 1),
    loadavg: loadavg().map((x) => round(x, 2)),
    node: process.version,
    taskset: hasTaskset(),
  };
}

function snakeCost(c: Parameters<typeof costFields>[0]): Record<string, number> | null {
  if (c === undefined) return null;
  const f = costFields(c);
  const o: Record<string, number> = {};
  if (f.cpuUsPerOutPkt !== undefined) o.cpu_us_per_out_pkt = f.cpuUsPerOutPkt;
  if (f.cpuPct !== undefined) o.cpu_pct = f.cpuPct;
  if (f.rxQueueDrops !== undefined) o.rx_queue_drops = f.rxQueueDrops;
  if (f.loopP50Ms !== undefined) o.loop_delay_p50_ms = f.loopP50Ms;
  if (f.loopP99Ms !== undefined) o.loop_delay_p99_ms = f.loopP99Ms;
  if (f.loopMaxMs !== undefined) o.loop_delay_max_ms = f.loopMaxMs;
  return o;
}

function fmt(n: number | null | undefined, w: number, digits = 0): string {
  const s = n === null || n === undefined ? '-' : n.toFixed(digits);
  return s.padStart(w);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // Every reflector here is pinned to one CPU: ours with one media thread, unless asked otherwise.
  if (process.env.REFLECTOR_MEDIA_WORKERS === undefined) process.env.REFLECTOR_MEDIA_WORKERS = '1';
  const started = new Date();
  const pinned = hasTaskset() && cpus().length >= 2;
  const reflectorCpu = pinned ? 1 : undefined;
  const harnessCpu = pinned ? 0 : undefined;
  if (pinned) {
    // The Node load generator (held measurement) runs in this process: keep it off the reflector's CPU.
    spawnSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  }
  const refs = buildPerfRefs();
  emit({ type: 'meta', started: started.toISOString(), quick: args.quick, retries: args.quick ? 0 : args.retries, hog: args.hog ? `busy loop pinned to CPU ${reflectorCpu ?? 'any'}` : null, ...machineNote(), reference_dir: refs.sourceDir, missing: refs.missing });
  const hog = args.hog ? new LineProcess(process.execPath, ['-e', HOG_SCRIPT], reflectorCpu === undefined ? {} : { cpu: reflectorCpu }) : undefined;
  try {
    await runAll(args, started, refs, reflectorCpu, harnessCpu);
  } finally {
    await hog?.stop('SIGKILL');
  }
}

async function runAll(
  args: BenchArgs,
  started: Date,
  refs: ReturnType<typeof buildPerfRefs>,
  reflectorCpu: number | undefined,
  harnessCpu: number | undefined,
): Promise<void> {
  for (const m of refs.missing) process.stderr.write(`bench: note: ${m}\n`);

  const timing: FanoutTiming = args.quick
    ? { plan: { startOutPps: 4000, maxOutPps: 64000, maxGrowSteps: 3, bisectSteps: 1 }, pointS: 0.4, warmupS: 0.2, halfS: 0.5 }
    : { plan: { startOutPps: 8000, maxOutPps: 1_024_000, maxGrowSteps: 8, bisectSteps: 3 }, pointS: 1.5, warmupS: 0.3, halfS: 3, retries: args.retries };

  const results: CellResult[] = [];
  if (args.fanout) {
    for (const cell of args.cells) {
      let cRate: number | undefined;
      for (const impl of args.impls) {
        if (impl === 'c' && refs.reflectorC === undefined) {
          emit({ type: 'fanout', impl, parties: cell.parties, size: cell.sizeBytes, error: 'C reference missing (../shared/perf absent)' });
          continue;
        }
        if (impl === 'naive' && refs.reflectorNaive === undefined) {
          emit({ type: 'fanout', impl, parties: cell.parties, size: cell.sizeBytes, error: 'naive reference missing (../shared/perf absent)' });
          continue;
        }
        for (const workers of impl === 'ours' ? args.workers : [undefined]) {
          const label = workers === undefined || args.workers.length === 1 ? impl : `${impl}/w${workers}`;
          process.stderr.write(`bench: ${label} ${cell.parties}x${cell.sizeBytes} …\n`);
          let r: CellResult;
          try {
            r = await runCell(impl, cell, timing, {
              refs,
              host: HOSTS[impl],
              port: REFLECTOR_PORT,
              loadgenBind: LOADGEN_BIND,
              ...(args.io === undefined ? {} : { io: args.io }),
              ...(reflectorCpu === undefined ? {} : { reflectorCpu }),
              ...(harnessCpu === undefined ? {} : { harnessCpu }),
              ...(workers === undefined ? {} : { workers }),
            });
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            emit({ type: 'fanout', impl, ...(workers === undefined ? {} : { media_workers: workers }), parties: cell.parties, size: cell.sizeBytes, error });
            continue;
          }
          if (impl === 'c') cRate = r.sustainedOutPps;
          results.push(r);
          emit({
            type: 'fanout',
            time: new Date().toISOString(),
            loadavg_1m: round(loadavg()[0], 2),
            impl,
            ...(r.workers === undefined ? {} : { media_workers: r.workers }),
            parties: r.parties,
            size: r.size,
            sustained_out_pps: r.sustainedOutPps,
            p50_ms: round(r.halfRate?.p50Ms),
            p99_ms: round(r.halfRate?.p99Ms),
            ratio_to_c: cRate ? round(r.sustainedOutPps / cRate) : null,
            half_rate_out_pps: r.halfRate ? Math.round(r.halfRate.outPps) : null,
            half_rate_loss_pct: round(r.halfRate?.lossPct, 4),
            half_rate_retried_after: r.halfRate?.retriedAfter ?? null,
            // Beside every throughput figure: what it cost the reflector. At the sustained point and at
            // half rate: CPU µs per out packet and % of a core (/proc/<pid>/stat), kernel receive-queue
            // drops of its media socket over the point (/proc/net/udp), and for ours the event-loop
            // delay p50/p99/max over the measured window (ms).
            sustained_cost: snakeCost(r.bestCost),
            sustained_loss_pct: round(r.points.find((p) => p.pass && p.out === r.sustainedOutPps)?.lossPct, 4),
            half_rate_cost: snakeCost(r.halfRate?.cost),
            rcvbuf_bytes: r.rcvbufBytes ?? null,
            capped: r.capped,
            harness: r.harness,
            io: r.io ?? null,
            // Ours on batched I/O: the share of received datagrams the addon fanned out itself.
            native_fanout_share: round(r.nativeShare, 4),
            join_us: r.joinUs ? { mean: round(r.joinUs.mean, 1), p99: round(r.joinUs.p99, 1) } : null,
            points: r.points,
          });
        }
      }
    }
  }

  let held: HeldResult | undefined;
  if (args.held && args.impls.includes('ours')) {
    process.stderr.write('bench: participants held …\n');
    const heldRate = args.quick ? 10 : 2;
    held = await measureHeld({
      steps: args.quick ? [20, 100] : [250, 500, 1000, 2000, 4000, 8000],
      parties: 4,
      ratePps: heldRate,
      sizeBytes: 172,
      durationS: args.quick ? 0.5 : 3,
      warmupS: args.quick ? 0.3 : 0.5,
      memBudgetBytes: 512 * 2 ** 20,
      host: HELD_HOST,
      port: REFLECTOR_PORT,
      bindAddress: LOADGEN_BIND,
      ...(reflectorCpu === undefined ? {} : { reflectorCpu }),
    });
    for (const s of held.steps) {
      emit({
        type: 'held_step',
        participants: s.participants,
        sessions: s.sessions,
        pass: s.pass,
        reason: s.reason ?? null,
        loss_pct: round(s.lossPct, 4),
        p50_ms: round(s.p50Ms),
        p99_ms: round(s.p99Ms),
        out_pps: Math.round(s.outPps),
        kernel_drops: { reflector: s.reflectorKernelDrops ?? null, loadgen: s.loadgenKernelDrops ?? null },
        rss_mib: round(s.rssBytes / 2 ** 20, 1),
        rss_per_participant_bytes: Math.round(s.rssPerParticipantBytes),
        heap_per_participant_bytes: Math.round(s.heapPerParticipantBytes),
        join_us: s.joinUs ? { mean: round(s.joinUs.mean, 1), p50: round(s.joinUs.p50, 1), p99: round(s.joinUs.p99, 1), max: round(s.joinUs.max, 1) } : null,
      });
    }
    const last = held.steps.filter((s) => s.pass).at(-1);
    emit({
      type: 'held',
      participants_held: held.held,
      lower_bound: held.harnessLimited,
      mem_budget_mib: held.memBudgetBytes / 2 ** 20,
      stream: `1 audio stream each, ${heldRate} packets/s of 172 bytes, sessions of 4`,
      largest_step_tried: held.steps.at(-1)?.participants ?? 0,
      stopped_because: held.steps.find((s) => !s.pass)?.reason ?? 'all steps passed',
      rss_per_participant_bytes: last ? Math.round(last.rssPerParticipantBytes) : null,
      heap_per_participant_bytes: last ? Math.round(last.heapPerParticipantBytes) : null,
    });
    if (last?.joinUs) {
      emit({
        type: 'join',
        via: 'core API (ReflectorCore.join)',
        participants: last.participants,
        mean_us: round(last.joinUs.mean, 1),
        p50_us: round(last.joinUs.p50, 1),
        p99_us: round(last.joinUs.p99, 1),
        max_us: round(last.joinUs.max, 1),
      });
    }
  }

  let sipJoin: SipJoinResult | undefined;
  let sipNote: string | undefined;
  if (args.held && args.impls.includes('ours')) {
    if (!hasSipp()) {
      sipNote = 'sipp is not installed: time to join through SIP not measured';
    } else {
      process.stderr.write('bench: time to join through SIP (SIPp) …\n');
      try {
        const calls = args.quick ? 20 : 200;
        sipJoin = await measureSipJoin({
          host: SIP_HOST,
          clientHosts: SIP_CLIENTS,
          sipPort: 5060,
          calls,
          callsPerSecond: args.quick ? 20 : 50,
          holdMs: 2000,
          ...(reflectorCpu === undefined ? {} : { reflectorCpu }),
          ...(harnessCpu === undefined ? {} : { clientCpu: harnessCpu }),
        });
        emit({
          type: 'join',
          via: 'SIP over UDP: SIPp uac scenario against dist/src/main.js, INVITE sent → 200 OK received',
          calls: sipJoin.calls,
          successful: sipJoin.successful,
          failed: sipJoin.failed,
          samples: sipJoin.samples,
          p50_ms: round(sipJoin.p50Ms),
          p99_ms: round(sipJoin.p99Ms),
          mean_ms: round(sipJoin.meanMs),
          max_ms: round(sipJoin.maxMs),
        });
      } catch (err) {
        sipNote = `SIP join measurement failed: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`;
      }
    }
    if (sipNote !== undefined) emit({ type: 'join', via: 'SIP', error: sipNote });
  }

  // The mixer's cost (SPEC §12/§13): one session of 20 mixed participants, all talking or 3 talking,
  // at 8 kHz (PCMU) and 16 kHz (G.722), timed by CPU time in this process.
  const mixerResults: MixerBenchResult[] = [];
  if (args.mixer) {
    for (const rateHz of [8000, 16000] as const) {
      for (const talkers of [20, 3]) {
        const r = benchMixer({ participants: 20, rateHz, seconds: args.quick ? 1 : 5, talkers });
        mixerResults.push(r);
        emit({ type: 'mixer', ...r });
      }
    }
  }

  // Peers side by side (same Node generator on CPU 0, reflector pinned to CPU 1): 2-party relay
  // ours vs rtpengine, N-party mixing ours (the mixer bench) vs Janus AudioBridge.
  const relayPts: PeerPoint[] = [];
  const mixPts: { impl: string; participants: number; cpuUsPerFrame: number; lossPct: number | null; outPps: number | null; sendPct: number | null; drops: number | null; cpuPct: number | null; error?: string }[] = [];
  const peerNotes: string[] = [];
  if (args.peers) {
    const env: PeerEnv = {
      oursHost: HOSTS.ours,
      oursPort: REFLECTOR_PORT,
      peerHost: PEER_HOST,
      loadgenBind: LOADGEN_BIND,
      durationS: args.quick ? 1 : 3,
      warmupS: args.quick ? 0.3 : 0.5,
      ...(reflectorCpu === undefined ? {} : { reflectorCpu }),
    };
    const hasRtpengine = which('rtpengine') !== undefined;
    if (!hasRtpengine) peerNotes.push('rtpengine is not installed (Debian package rtpengine-daemon): 2-party relay measured for ours only');
    for (const calls of args.quick ? [20, 50] : [100, 250, 500, 750]) {
      for (const impl of hasRtpengine ? (['rtpengine', 'ours'] as const) : (['ours'] as const)) {
        process.stderr.write(`bench: 2-party relay ${impl} ${calls} calls …\n`);
        let pt: PeerPoint;
        try {
          pt = await relayPoint(impl, calls, env);
        } catch (err) {
          const error = err instanceof Error ? err.message.slice(0, 300) : String(err);
          emit({ type: 'peer_relay', impl, calls, error });
          continue;
        }
        relayPts.push(pt);
        const peer = relayPts.find((x) => x.impl === 'rtpengine' && x.units === calls);
        emit({
          type: 'peer_relay',
          time: new Date().toISOString(),
          loadavg_1m: round(loadavg()[0], 2),
          impl,
          calls,
          stream: `2 participants per call, ${AUDIO_PPS} packets/s of 172 bytes each`,
          offered_out_pps: pt.offeredOutPps,
          out_pps: Math.round(pt.outPps),
          loss_pct: round(pt.lossPct, 4),
          send_pct: round(pt.sendPct, 1),
          p50_ms: round(pt.p50Ms),
          p99_ms: round(pt.p99Ms),
          cost: snakeCost(pt.cost),
          cpu_ratio_to_rtpengine: impl === 'ours' && peer?.cost.cpuUsPerOutPkt && pt.cost.cpuUsPerOutPkt ? round(pt.cost.cpuUsPerOutPkt / peer.cost.cpuUsPerOutPkt) : null,
        });
      }
    }
    const hasJanus = which('janus') !== undefined;
    if (!hasJanus) peerNotes.push('janus is not installed (Debian package janus): N-party mixing measured for ours (mixer bench) only');
    for (const n of args.quick ? [10] : [20, 100, 300]) {
      if (hasJanus) {
        process.stderr.write(`bench: mix janus ${n} participants …\n`);
        try {
          const pt = await janusMixPoint(n, env);
          const us = pt.cost.cpuUsPerOutPkt ?? 0;
          mixPts.push({ impl: 'janus', participants: n, cpuUsPerFrame: us, lossPct: pt.lossPct, outPps: pt.outPps, sendPct: pt.sendPct, drops: pt.cost.rxQueueDrops ?? null, cpuPct: pt.cost.cpuPct ?? null });
          emit({
            type: 'peer_mix',
            time: new Date().toISOString(),
            loadavg_1m: round(loadavg()[0], 2),
            impl: 'janus',
            participants: n,
            stream: `one AudioBridge room (8 kHz), plain-RTP PCMU participants, all talking, ${AUDIO_PPS} packets/s each`,
            out_pps: Math.round(pt.outPps),
            loss_pct: round(pt.lossPct, 4),
            send_pct: round(pt.sendPct, 1),
            cost: snakeCost(pt.cost),
            cpu_us_per_mixed_participant_frame: round(us),
            participants_per_core: us > 0 ? Math.round(1e6 / (us * AUDIO_PPS)) : null,
          });
        } catch (err) {
          emit({ type: 'peer_mix', impl: 'janus', participants: n, error: err instanceof Error ? err.message.slice(0, 300) : String(err) });
        }
      }
      // Ours: the real MixerSession (jitter buffers, decode, mix-minus, encode) timed by CPU time in this
      // process, at the same size, codec and rate; no sockets, so no loss figure.
      const m = benchMixer({ participants: n, rateHz: 8000, seconds: args.quick ? 1 : 5, talkers: n });
      const us = (m.cpuMs * 1000) / (m.participants * m.frames);
      const janus = mixPts.find((x) => x.impl === 'janus' && x.participants === n);
      mixPts.push({ impl: 'ours', participants: n, cpuUsPerFrame: us, lossPct: null, outPps: null, sendPct: null, drops: null, cpuPct: null });
      emit({
        type: 'peer_mix',
        time: new Date().toISOString(),
        loadavg_1m: round(loadavg()[0], 2),
        impl: 'ours',
        participants: n,
        stream: `the mixer bench (src/mixer/bench.ts): one session, PCMU 8 kHz, all talking, ${m.seconds} s of 20 ms frames as fast as the CPU allows`,
        loss_pct: null,
        loss_note: 'in-process mixer bench: no sockets, so no loss figure',
        cpu_us_per_mixed_participant_frame: round(us),
        participants_per_core: Math.round(m.participantsPerCore),
        cpu_ratio_to_janus: janus && janus.cpuUsPerFrame > 0 ? round(us / janus.cpuUsPerFrame) : null,
      });
    }
    for (const n of peerNotes) emit({ type: 'peers', note: n });
  }

  // The inter-reflector relay (SPEC §6, §15): CPU per relayed packet, plain and protected (AES-256-GCM),
  // both ends in this process on loopback; alternated, so that load changes hit both alike.
  const relayResults: RelayBenchResult[] = [];
  if (args.relay) {
    const packets = args.quick ? 5000 : 40_000;
    for (const sizeBytes of [172, 1200]) {
      for (let round = 0; round < (args.quick ? 1 : 3); round++) {
        for (const secret of [undefined, 'bench-secret']) {
          try {
            const r = await benchRelay({ packets, sizeBytes, ...(secret !== undefined ? { secret } : {}) });
            relayResults.push(r);
            emit({ type: 'relay', time: new Date().toISOString(), loadavg_1m: round2(loadavg()[0]), round, ...r });
          } catch (err) {
            emit({ type: 'relay', sizeBytes, protected: secret !== undefined, error: err instanceof Error ? err.message : String(err) });
          }
        }
      }
    }
  }

  // SPEC §15: the cost of SRTP, plain and SRTP side by side in this run.
  const srtpResults: SrtpBenchResult[] = [];
  if (args.srtp) {
    const crypto = benchSrtpCrypto(args.quick ? 20_000 : 200_000);
    emit({ type: 'srtp_crypto', ...crypto });
    for (const mode of ['plain', 'srtp'] as const) {
      process.stderr.write(`bench: SRTP cost, ${mode} …\n`);
      try {
        const r = await benchSrtp({
          host: '127.0.7.50', port: 26100, bindAddress: '127.0.7.51', parties: 5, sizeBytes: 172,
          outRates: args.quick ? [4000, 16000] : [4000, 8000, 16000, 32000, 64000, 96000, 128000],
          stepS: args.quick ? 0.5 : 2,
          ...(args.io === undefined ? {} : { io: args.io }),
          ...(reflectorCpu === undefined ? {} : { cpu: reflectorCpu }),
        }, mode);
        srtpResults.push(r);
        emit({
          type: 'srtp', mode, parties: r.parties, size: r.sizeBytes, io: r.io,
          sustained_out_pps: r.sustainedOutPps, capped: r.capped, cpu_us_per_out: round(r.cpuUsPerOut ?? undefined, 2),
          steps: r.steps.map((x) => ({ offered_out_pps: x.offeredOutPps, out_pps: x.outPps, loss_pct: round(x.lossPct, 3), cpu_us_per_out: round(x.cpuUsPerOut ?? undefined, 2), cpu_cores: round(x.cpuCores, 2), drops: x.drops })),
        });
      } catch (err) {
        emit({ type: 'srtp', mode, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  // Human-readable table.
  const w = (s: string): void => {
    process.stderr.write(s + '\n');
  };
  w('');
  w(`bench ${started.toISOString()} → ${new Date().toISOString()}${args.quick ? ' (quick)' : ''}; ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (results.length > 0) {
    w('impl   parties  size  sustained out pkt/s   vs C  loss %  µs/pkt  cpu %  drops  | half rate: p50 ms  p99 ms  µs/pkt  loss %  drops  loop p99/max ms');
    for (const r of results) {
      const c = results.find((x) => x.impl === 'c' && x.parties === r.parties && x.size === r.size);
      const ratio = c && c.sustainedOutPps > 0 ? r.sustainedOutPps / c.sustainedOutPps : null;
      const best = r.points.find((p) => p.pass && p.out === r.sustainedOutPps);
      const bc = r.bestCost;
      const hc = r.halfRate?.cost;
      const loop = hc?.loopDelay ? `${hc.loopDelay.p99Ms.toFixed(1)}/${hc.loopDelay.maxMs.toFixed(1)}` : '-';
      w(
        `${(r.workers === undefined || args.workers.length === 1 ? r.impl : `${r.impl}/w${r.workers}`).padEnd(6)} ${fmt(r.parties, 7)} ${fmt(r.size, 5)} ${fmt(r.sustainedOutPps, 20)}${r.capped ? '+' : ' '} ${fmt(ratio, 6, 2)} ${fmt(best?.lossPct, 6, 3)} ${fmt(bc?.cpuUsPerOutPkt, 7, 2)} ${fmt(bc?.cpuPct, 6, 0)} ${fmt(bc?.rxQueueDrops, 6)}  |            ${fmt(r.halfRate?.p50Ms, 7, 2)} ${fmt(r.halfRate?.p99Ms, 7, 2)} ${fmt(hc?.cpuUsPerOutPkt, 7, 2)} ${fmt(r.halfRate?.lossPct, 7, 3)} ${fmt(hc?.rxQueueDrops, 6)}  ${loop}`,
      );
    }
  }
  if (held) {
    const last = held.steps.filter((s) => s.pass).at(-1);
    w(`participants held: ${held.harnessLimited ? '≥ ' : ''}${held.held} (budget ${held.memBudgetBytes / 2 ** 20} MiB RSS; ${held.steps.find((s) => !s.pass)?.reason ?? 'largest step passed'})`);
    if (last) {
      w(`memory per participant: ${(last.rssPerParticipantBytes / 1024).toFixed(1)} KiB RSS, ${(last.heapPerParticipantBytes / 1024).toFixed(1)} KiB heap (at ${last.participants})`);
      if (last.joinUs) w(`time to join (core API): mean ${last.joinUs.mean.toFixed(1)} µs, p99 ${last.joinUs.p99.toFixed(1)} µs`);
    }
  }
  if (sipJoin) {
    w(`time to join (SIP, SIPp): ${sipJoin.successful}/${sipJoin.calls} calls, INVITE→200 OK p50 ${sipJoin.p50Ms.toFixed(2)} ms, p99 ${sipJoin.p99Ms.toFixed(2)} ms`);
  }
  if (sipNote !== undefined) w(`note: ${sipNote}`);
  for (const r of mixerResults) {
    w(`mixer ${r.rateHz / 1000} kHz ${r.codec}: ${r.talkers}/${r.participants} talking → ${Math.round(r.participantsPerCore)} mixed participants per core (realtime factor ${r.realtimeFactor.toFixed(1)})`);
  }
  const plainR = srtpResults.find((r) => r.mode === 'plain');
  const srtpR = srtpResults.find((r) => r.mode === 'srtp');
  for (const r of srtpResults) {
    w(`SRTP cost, ${r.mode.padEnd(5)} ${r.parties}x${r.sizeBytes}: sustained ${r.sustainedOutPps}${r.capped ? '+' : ''} out pkt/s, core CPU ${r.cpuUsPerOut?.toFixed(2) ?? '-'} µs per out packet (at ${r.sustainedOutPps} out pkt/s)`);
  }
  if (plainR?.cpuUsPerOut != null && srtpR?.cpuUsPerOut != null && plainR.cpuUsPerOut > 0) {
    w(`SRTP/plain: CPU per out packet ×${(srtpR.cpuUsPerOut / plainR.cpuUsPerOut).toFixed(2)}, sustained out rate ×${plainR.sustainedOutPps > 0 ? (srtpR.sustainedOutPps / plainR.sustainedOutPps).toFixed(2) : '-'}`);
  }
  if (relayPts.length > 0) {
    w('2-party relay, ours vs rtpengine (Node generator, 50 pkt/s of 172 B per participant):');
    w('impl       calls  offered out pkt/s  out pkt/s  send %  loss %  µs/pkt  cpu %  drops  p50 ms  p99 ms  loop p99/max ms  µs/pkt vs rtpengine');
    for (const p of relayPts) {
      const peer = relayPts.find((x) => x.impl === 'rtpengine' && x.units === p.units);
      const ratio = p.impl === 'ours' && peer?.cost.cpuUsPerOutPkt && p.cost.cpuUsPerOutPkt ? p.cost.cpuUsPerOutPkt / peer.cost.cpuUsPerOutPkt : null;
      const loop = p.cost.loopDelay ? `${p.cost.loopDelay.p99Ms.toFixed(1)}/${p.cost.loopDelay.maxMs.toFixed(1)}` : '-';
      w(
        `${p.impl.padEnd(10)} ${fmt(p.units, 5)} ${fmt(p.offeredOutPps, 18)} ${fmt(p.outPps, 10)} ${fmt(p.sendPct, 7, 1)} ${fmt(p.lossPct, 7, 3)} ${fmt(p.cost.cpuUsPerOutPkt, 7, 2)} ${fmt(p.cost.cpuPct, 6, 0)} ${fmt(p.cost.rxQueueDrops, 6)} ${fmt(p.p50Ms, 7, 2)} ${fmt(p.p99Ms, 7, 2)} ${loop.padStart(16)} ${fmt(ratio, 10, 2)}`,
      );
    }
  }
  if (mixPts.length > 0) {
    w('N-party mixing (PCMU 8 kHz, all talking): CPU µs per mixed participant-frame (20 ms)');
    w('impl   participants  µs/frame  participants/core  loss %  send %  cpu %  drops  µs vs Janus');
    for (const p of mixPts) {
      const j = mixPts.find((x) => x.impl === 'janus' && x.participants === p.participants);
      const ratio = p.impl === 'ours' && j && j.cpuUsPerFrame > 0 ? p.cpuUsPerFrame / j.cpuUsPerFrame : null;
      w(
        `${p.impl.padEnd(6)} ${fmt(p.participants, 12)} ${fmt(p.cpuUsPerFrame, 9, 2)} ${fmt(p.cpuUsPerFrame > 0 ? 1e6 / (p.cpuUsPerFrame * AUDIO_PPS) : null, 18)} ${p.lossPct === null ? '    n/a' : fmt(p.lossPct, 7, 3)} ${fmt(p.sendPct, 7, 1)} ${fmt(p.cpuPct, 6, 0)} ${fmt(p.drops, 6)} ${fmt(ratio, 12, 2)}`,
      );
    }
    w('(ours: the in-process mixer bench, no sockets — so no loss figure; Janus: a real room over loopback)');
  }
  for (const n of peerNotes) w(`note: ${n}`);
  for (const sizeBytes of [...new Set(relayResults.map((r) => r.sizeBytes))]) {
    const med = (prot: boolean): number | null => {
      const xs = relayResults.filter((r) => r.sizeBytes === sizeBytes && r.protected === prot).map((r) => r.cpuUsPerPacket).sort((x, y) => x - y);
      return xs.length === 0 ? null : xs[Math.floor(xs.length / 2)];
    };
    const plain = med(false);
    const prot = med(true);
    w(`relay ${sizeBytes} B: ${fmt(plain, 0, 2)} µs CPU per relayed packet plain, ${fmt(prot, 0, 2)} µs protected (AES-256-GCM)${plain !== null && prot !== null ? `, +${(prot - plain).toFixed(2)} µs` : ''} (median of runs, both ends)`);
  }
  for (const m of refs.missing) w(`note: ${m}`);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
