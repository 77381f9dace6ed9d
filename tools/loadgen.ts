/**
 * tools/loadgen — many participants in many sessions at a fixed rate and size;
 * reports loss and latency (send time carried in the payload) as one JSON line
 * on stdout. See USAGE.
 *
 * By default it starts the reflector core in a child process (pinned to CPU 1
 * when taskset exists) on --listen:--port and admits every participant through
 * the core API before sending. With --server it loads a running reflector
 * through SIP: one INVITE per participant (digest with --user/--password),
 * media to AUDIO_PORT, join times reported, BYE at the end. With --target it
 * drives an already running reflector that latches sources by itself (e.g. the
 * C reference of ../shared/perf); nothing is admitted then.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { CoreChild, type JoinTimes } from './bench/core-client.js';
import { runLoadgen, validateLoadgenOptions, type LoadgenOptions } from './bench/loadgen-engine.js';
import { hasTaskset } from './bench/proc.js';
import { SipLoad } from './bench/sip-load.js';
import { VERSION } from '../src/runtime/version.js';

const USAGE = `usage: node dist/tools/loadgen.js [options]

  --sessions N         sessions (default 10)
  --parties K          participants per session (default 5)
  --rate PPS           packets per second per participant (default 50)
  --size BYTES         RTP packet size (default 172)
  --duration S         measured seconds (default 5)
  --warmup S           paced warm-up before measuring (default 0.5)
  --bind ADDR          loopback address of the participants' sockets (default 127.0.7.32)
  target, one of:
  --listen ADDR --port P   start a reflector core child there (default 127.0.7.31:26000)
  --server HOST[:PORT]     a running reflector, joined through SIP (PORT default 5060); media to
                           --audio-port (default 5566); digest with --user NAME --password SECRET;
                           --mode mix|reflect adds ;mode= to the Request-URI
  --target HOST:PORT       a running reflector that latches sources itself (no admission)
  --version            print the version and exit
  --help               this text

Output: one JSON line with sent/received/expected packets, loss_pct, p50_ms/p99_ms/max_ms latency and,
with --server, join_ms (p50, p99, max time from INVITE to 200 OK) and join_failed.
`;

interface Args {
  readonly sessions: number;
  readonly parties: number;
  readonly rate: number;
  readonly size: number;
  readonly duration: number;
  readonly warmup: number;
  readonly bind: string;
  readonly listen: string;
  readonly port: number;
  readonly target?: { readonly host: string; readonly port: number };
  readonly server?: { readonly host: string; readonly sipPort: number };
  readonly audioPort: number;
  readonly user?: string;
  readonly password?: string;
  readonly mode?: 'mix' | 'reflect';
}

function usage(msg: string): never {
  process.stderr.write(
    `loadgen: ${msg}\n${USAGE}`,
  );
  process.exit(2);
}

function isLoopbackV4(a: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function parseLoadgenArgs(argv: readonly string[]): Args {
  const v: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (a === '--version' || a === '-V') {
      process.stdout.write(`loadgen ${VERSION}\n`);
      process.exit(0);
    }
    if (!a.startsWith('--')) usage(`unexpected ${a}`);
    const val = argv[i + 1];
    if (val === undefined) usage(`${a} needs a value`);
    v[a.slice(2)] = val;
    i++;
  }
  const known = ['sessions', 'parties', 'rate', 'size', 'duration', 'warmup', 'bind', 'listen', 'port', 'target', 'server', 'audio-port', 'user', 'password', 'mode'];
  for (const k of Object.keys(v)) if (!known.includes(k)) usage(`unknown option --${k}`);
  const num = (k: string, d: number): number => {
    const s = v[k];
    if (s === undefined) return d;
    const n = Number(s);
    if (!Number.isFinite(n)) usage(`--${k} must be a number`);
    return n;
  };
  let target: Args['target'];
  if (v.target !== undefined) {
    const m = /^(.+):(\d+)$/.exec(v.target);
    if (!m) usage('--target must be HOST:PORT');
    target = { host: m[1] as string, port: Number(m[2]) };
  }
  let server: Args['server'];
  if (v.server !== undefined) {
    const m = /^([^:]+)(?::(\d+))?$/.exec(v.server);
    if (!m) usage('--server must be HOST or HOST:PORT');
    server = { host: m[1] as string, sipPort: m[2] !== undefined ? Number(m[2]) : 5060 };
    if (target !== undefined) usage('--server and --target exclude each other');
  }
  if (v.mode !== undefined && v.mode !== 'mix' && v.mode !== 'reflect') usage('--mode must be mix or reflect');
  if ((v.user !== undefined || v.password !== undefined || v.mode !== undefined || v['audio-port'] !== undefined) && server === undefined) {
    usage('--user, --password, --mode and --audio-port go with --server');
  }
  const args: Args = {
    sessions: num('sessions', 10),
    parties: num('parties', 5),
    rate: num('rate', 50),
    size: num('size', 172),
    duration: num('duration', 5),
    warmup: num('warmup', 0.5),
    bind: v.bind ?? '127.0.7.32',
    listen: v.listen ?? '127.0.7.31',
    port: num('port', 26000),
    ...(target ? { target } : {}),
    ...(server ? { server } : {}),
    audioPort: num('audio-port', 5566),
    ...(v.user !== undefined ? { user: v.user } : {}),
    ...(v.password !== undefined ? { password: v.password } : {}),
    ...(v.mode === 'mix' || v.mode === 'reflect' ? { mode: v.mode } : {}),
  };
  for (const a of [args.bind, args.listen, args.target?.host ?? '127.0.0.1', args.server?.host ?? '127.0.0.1']) {
    if (!isLoopbackV4(a)) usage(`${a}: only IPv4 loopback addresses are allowed`);
  }
  return args;
}

async function main(): Promise<void> {
  const a = parseLoadgenArgs(process.argv.slice(2));
  const pinned = hasTaskset() && cpus().length >= 2;
  if (pinned) spawnSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  let core: CoreChild | undefined;
  let joinUs: JoinTimes | undefined;
  let joinTotalMs: number | undefined;
  const host = a.server?.host ?? a.target?.host ?? a.listen;
  const port = a.server !== undefined ? a.audioPort : a.target?.port ?? a.port;
  const sip = a.server !== undefined ? new SipLoad(a.server.host, a.server.sipPort, a.bind, a.user, a.password, a.mode) : undefined;
  const base: LoadgenOptions = {
    bindAddress: a.bind,
    targetAddress: host,
    targetPort: port,
    sessions: a.sessions,
    parties: a.parties,
    ratePps: a.rate,
    sizeBytes: a.size,
    durationS: a.duration,
    warmupS: a.warmup,
  };
  try {
    validateLoadgenOptions(base);
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  try {
    if (a.target === undefined && sip === undefined) {
      core = await CoreChild.start({
        listen: a.listen,
        audioPort: a.port,
        maxParticipants: Math.max(100, a.sessions * a.parties * 2),
        ...(pinned ? { cpu: 1 } : {}),
      });
    }
    const c = core;
    let rssBytes: number | undefined;
    let drops: Readonly<Record<string, number>> | undefined;
    let participantsInCore: number | undefined;
    const r = await runLoadgen({
      ...base,
      ...(c
        ? {
            admit: async (groups) => {
              const t0 = performance.now();
              const j = await c.join(groups);
              joinTotalMs = performance.now() - t0;
              joinUs = j.joinUs;
            },
            beforeClose: async () => {
              rssBytes = (await c.mem()).rssBytes;
              const s = await c.stats();
              drops = s.drops;
              participantsInCore = s.participants;
            },
          }
        : sip !== undefined
          ? { admit: (groups) => sip.join(groups), beforeClose: () => sip.leave() }
          : {}),
    });
    const joins = sip?.joinTimes();
    process.stdout.write(
      JSON.stringify({
        type: 'loadgen',
        time: new Date().toISOString(),
        reflector: c ? `core child ${a.listen}:${a.port}` : sip !== undefined ? `${host} (SIP ${a.server?.sipPort ?? 5060}, audio ${port})` : `${host}:${port}`,
        sessions: r.sessions,
        parties: r.parties,
        participants: r.participants,
        rate_pps: r.ratePps,
        size: r.sizeBytes,
        duration_s: Math.round(r.durationS * 1000) / 1000,
        sent: r.sent,
        received: r.received,
        expected: r.expected,
        loss_pct: Math.round(r.lossPct * 10000) / 10000,
        send_pct: Math.round(r.sendPct * 100) / 100,
        in_pps: Math.round(r.inPps),
        out_pps: Math.round(r.outPps),
        p50_ms: r.p50Ms,
        p99_ms: r.p99Ms,
        max_ms: Math.round(r.maxMs * 1000) / 1000,
        min_pair_delivery: Math.round(r.minPairDelivery * 10000) / 10000,
        self_echo: r.selfEcho,
        misrouted: r.misrouted,
        bad: r.bad,
        socket_errors: r.socketErrors,
        kernel_drops: { reflector: r.reflectorKernelDrops, loadgen: r.loadgenKernelDrops },
        ...(joinUs ? { join_us: joinUs, join_total_ms: joinTotalMs } : {}),
        ...(joins !== undefined ? { join_ms: joins.ms, join_failed: joins.failed, join_statuses: joins.statuses } : {}),
        ...(rssBytes !== undefined ? { reflector_rss_mib: Math.round((rssBytes / 2 ** 20) * 10) / 10 } : {}),
        ...(participantsInCore !== undefined ? { reflector_participants: participantsInCore } : {}),
        ...(drops ? { reflector_drops: drops } : {}),
      }) + '\n',
    );
  } finally {
    if (core) await core.close();
    sip?.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`loadgen: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
