/**
 * Peers in the benchmark, side by side with ours in one run, on the same Node
 * load generator and the same pinning (reflector CPU 1, generator CPU 0):
 *
 * - 2-party relay: rtpengine (Debian `rtpengine-daemon`, userspace forwarding only:
 *   `--table=-1`, no kernel module) driven over its ng control protocol (bencode over
 *   UDP: `offer`/`answer` with SDP allocate each call's two ports), against our core
 *   with sessions of 2 participants admitted through the core API.
 * - N-party mixing: Janus AudioBridge (Debian `janus`) with plain-RTP participants
 *   (`join` with an `rtp` object, over Janus's HTTP API on loopback), against our
 *   mixer's cost from the mixer bench (src/mixer/bench.ts: the real MixerSession,
 *   timed by CPU time, no sockets).
 *
 * Each is skipped, with the reason, when its program is not installed. Every figure
 * carries the reflector's CPU µs per out packet (/proc/<pid>/stat), loss and kernel
 * receive-queue drops. Nothing here runs per packet except the generator.
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bdecode, bencode, type BValue } from './bencode.js';
import { CoreChild } from './core-client.js';
import type { JoinGroup } from './core-child.js';
import { runLoadgen, type LoadTarget } from './loadgen-engine.js';
import { repoRoot } from './paths.js';
import { CostProbe, type PointCost } from './proc-stats.js';
import { LineProcess } from './proc.js';

/** Audio: 50 packets/s per participant of 172 bytes (20 ms of PCMU). */
export const AUDIO_PPS = 50;
export const AUDIO_BYTES = 172;

export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout?.trim();
  return r.status === 0 && p ? p : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The m=audio port and c= address of an SDP body. */
export function sdpAudioTarget(sdp: string): LoadTarget | undefined {
  let address: string | undefined;
  let port: number | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const c = /^c=IN IP4 (\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (c && (address === undefined || port !== undefined)) address = c[1];
    const m = /^m=audio (\d+) /.exec(line);
    if (m && port === undefined) port = Number(m[1]);
  }
  return address !== undefined && port !== undefined && port > 0 && port < 65536 ? { address, port } : undefined;
}

export function offerSdp(address: string, port: number, sessionId: number): string {
  return (
    `v=0\r\no=- ${sessionId} 1 IN IP4 ${address}\r\ns=bench\r\nc=IN IP4 ${address}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`
  );
}

// ---------------------------------------------------------------- rtpengine

/** A running rtpengine (userspace only) and its ng control client. */
export class Rtpengine {
  readonly proc: LineProcess;
  readonly host: string;
  readonly ngPort: number;
  readonly #sock: dgram.Socket;
  readonly #pending = new Map<string, (v: BValue) => void>();
  #cookie = 0;

  private constructor(proc: LineProcess, host: string, ngPort: number, sock: dgram.Socket) {
    this.proc = proc;
    this.host = host;
    this.ngPort = ngPort;
    this.#sock = sock;
    sock.on('message', (msg) => {
      const sp = msg.indexOf(0x20);
      if (sp <= 0) return;
      const cookie = msg.toString('latin1', 0, sp);
      const w = this.#pending.get(cookie);
      if (!w) return;
      this.#pending.delete(cookie);
      try {
        w(bdecode(msg.subarray(sp + 1)));
      } catch {
        w({ result: 'error', 'error-reason': 'unparsable reply' });
      }
    });
  }

  static async start(o: { host: string; ngPort: number; portMin: number; portMax: number; cpu?: number; clientBind: string }): Promise<Rtpengine> {
    const bin = which('rtpengine');
    if (bin === undefined) throw new Error('rtpengine is not installed');
    const args = [
      '--config-file=none',
      '--foreground',
      '--log-stderr',
      '--log-level=3',
      '--table=-1', // no kernel module: userspace forwarding
      `--interface=${o.host}`,
      `--listen-ng=${o.host}:${o.ngPort}`,
      `--port-min=${o.portMin}`,
      `--port-max=${o.portMax}`,
      '--timeout=120',
      '--delete-delay=0',
    ];
    const proc = new LineProcess(bin, args, o.cpu === undefined ? {} : { cpu: o.cpu });
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: o.clientBind, port: 0 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const r = new Rtpengine(proc, o.host, o.ngPort, sock);
    try {
      // Bounded: ping until it answers pong (≈ 5 s).
      for (let i = 0; ; i++) {
        if (proc.exited) throw new Error(`rtpengine exited: ${proc.stderr.slice(-800)}`);
        const pong = await r.ng({ command: 'ping' }, 200).catch(() => undefined);
        if (pong !== undefined && (pong as { result?: unknown }).result === 'pong') break;
        if (i >= 25) throw new Error(`rtpengine did not answer ping: ${proc.stderr.slice(-800)}`);
      }
    } catch (err) {
      await r.close();
      throw err;
    }
    return r;
  }

  /** One ng request; rejects after timeoutMs. */
  ng(req: { [key: string]: BValue }, timeoutMs = 3000): Promise<BValue> {
    const cookie = `b${process.pid}_${++this.#cookie}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(cookie);
        reject(new Error(`rtpengine ng ${String(req.command)}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(cookie, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
      this.#sock.send(Buffer.concat([Buffer.from(`${cookie} `, 'latin1'), bencode(req)]), this.ngPort, this.host);
    });
  }

  /**
   * Allocates one call per group of 2 (offer with A's SDP, answer with B's) and returns
   * where each participant must send: A to the port in the answer's SDP, B to the offer's.
   */
  async admitCalls(groups: readonly JoinGroup[]): Promise<LoadTarget[]> {
    const targets: LoadTarget[] = [];
    let n = 0;
    for (const g of groups) {
      if (g.ports.length !== 2) throw new Error('rtpengine: 2-party calls only');
      const [pa, pb] = g.ports as [number, number];
      const callId = `bench-${g.session}`;
      const offer = (await this.ng({ command: 'offer', 'call-id': callId, 'from-tag': 'a', sdp: offerSdp(g.address, pa, ++n) })) as Record<string, BValue>;
      if (offer.result !== 'ok' || typeof offer.sdp !== 'string') throw new Error(`rtpengine offer: ${String(offer['error-reason'] ?? offer.result)}`);
      const answer = (await this.ng({ command: 'answer', 'call-id': callId, 'from-tag': 'a', 'to-tag': 'b', sdp: offerSdp(g.address, pb, ++n) })) as Record<string, BValue>;
      if (answer.result !== 'ok' || typeof answer.sdp !== 'string') throw new Error(`rtpengine answer: ${String(answer['error-reason'] ?? answer.result)}`);
      const toB = sdpAudioTarget(offer.sdp); // what B is told: where B sends
      const toA = sdpAudioTarget(answer.sdp); // what A is told: where A sends
      if (!toA || !toB) throw new Error('rtpengine: no m=audio port in its SDP');
      targets.push(toA, toB);
    }
    return targets;
  }

  async close(): Promise<void> {
    for (const w of this.#pending.values()) w({ result: 'error', 'error-reason': 'closed' });
    this.#pending.clear();
    try {
      this.#sock.close();
    } catch {
      // closed
    }
    await this.proc.stop('SIGTERM', 3000);
  }
}

// ---------------------------------------------------------------- Janus AudioBridge

type Json = Record<string, unknown>;

/** A running Janus with only the AudioBridge plugin and the HTTP transport, on loopback. */
export class Janus {
  readonly proc: LineProcess;
  readonly base: string;
  #tx = 0;

  private constructor(proc: LineProcess, base: string) {
    this.proc = proc;
    this.base = base;
  }

  static async start(o: { host: string; httpPort: number; rtpPortMin: number; rtpPortMax: number; cpu?: number }): Promise<Janus> {
    const bin = which('janus');
    if (bin === undefined) throw new Error('janus is not installed');
    const libdir = '/usr/lib/x86_64-linux-gnu/janus';
    const dir = join(repoRoot(), '.tmp', 'janus');
    mkdirSync(dir, { recursive: true });
    const plugins = ['duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'videoroom', 'voicemail'];
    const transports = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'];
    writeFileSync(
      join(dir, 'janus.jcfg'),
      `general: {\n  configs_folder = "${dir}"\n  plugins_folder = "${libdir}/plugins"\n  transports_folder = "${libdir}/transports"\n` +
        `  events_folder = "${libdir}/events"\n  loggers_folder = "${libdir}/loggers"\n  debug_level = 2\n  session_timeout = 0\n}\n` +
        `media: {\n  rtp_port_range = "${o.rtpPortMin}-${o.rtpPortMax}"\n}\n` +
        `nat: {\n  nice_debug = false\n  ice_enforce_list = "${o.host}"\n  ignore_mdns = true\n}\n` +
        `plugins: {\n  disable = "${plugins.map((p) => `libjanus_${p}.so`).join(',')}"\n}\n` +
        `transports: {\n  disable = "${transports.map((p) => `libjanus_${p}.so`).join(',')}"\n}\n` +
        `events: {\n  broadcast = false\n}\nloggers: {\n  disable = "libjanus_jsonlog.so"\n}\n`,
    );
    writeFileSync(
      join(dir, 'janus.transport.http.jcfg'),
      `general: {\n  json = "compact"\n  base_path = "/janus"\n  http = true\n  port = ${o.httpPort}\n  ip = "127.0.0.1"\n  https = false\n}\n` +
        `admin: {\n  admin_http = false\n  admin_https = false\n}\n`,
    );
    writeFileSync(
      join(dir, 'janus.plugin.audiobridge.jcfg'),
      `general: {\n  rtp_port_range = "${o.rtpPortMin}-${o.rtpPortMax}"\n  local_ip = "${o.host}"\n  events = false\n}\n`,
    );
    // cwd in the git-ignored scratch directory: a crashing Janus leaves its core file there.
    const proc = new LineProcess(bin, ['-C', join(dir, 'janus.jcfg'), '-F', dir], {
      cwd: dir,
      ...(o.cpu === undefined ? {} : { cpu: o.cpu }),
    });
    // Janus binds its HTTP API only to an address an interface carries (getifaddrs): 127.0.0.1,
    // not the rest of 127/8. Its media (AudioBridge plain RTP) uses o.host.
    const j = new Janus(proc, `http://127.0.0.1:${o.httpPort}/janus`);
    for (let i = 0; ; i++) {
      if (proc.exited) throw new Error(`janus exited: ${proc.allLines.slice(-10).join(' | ')} ${proc.stderr.slice(-500)}`);
      const ok = await fetch(`${j.base}/info`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i >= 50) {
        await proc.stop('SIGKILL');
        throw new Error(`janus HTTP API not up: ${proc.allLines.slice(-10).join(' | ')}`);
      }
      await sleep(100);
    }
    return j;
  }

  async #post(path: string, body: Json): Promise<Json> {
    const r = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, transaction: `t${++this.#tx}` }),
      signal: AbortSignal.timeout(5000),
    });
    const j = (await r.json()) as Json;
    if (j.janus === 'error') throw new Error(`janus: ${JSON.stringify(j.error)}`);
    return j;
  }

  /**
   * One room of `ports.length` plain-RTP PCMU participants (8 kHz room, like our mixer bench):
   * each joins on its own handle, and the "joined" events tell where each must send.
   */
  async admitRoom(room: number, address: string, ports: readonly number[]): Promise<LoadTarget[]> {
    const session = ((await this.#post('', { janus: 'create' })).data as { id: number }).id;
    const attach = async (): Promise<number> =>
      ((await this.#post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.audiobridge' })).data as { id: number }).id;
    const admin = await attach();
    const created = (await this.#post(`/${session}/${admin}`, {
      janus: 'message',
      body: { request: 'create', room, sampling_rate: 8000, audiolevel_event: false, record: false, permanent: false, allow_rtp_participants: true },
    })) as { plugindata?: { data?: Json } };
    const cd = created.plugindata?.data;
    if (!cd || cd.audiobridge !== 'created') throw new Error(`janus create room: ${JSON.stringify(cd)}`);
    const handles: number[] = [];
    for (const port of ports) {
      const h = await attach();
      handles.push(h);
      await this.#post(`/${session}/${h}`, {
        janus: 'message',
        body: { request: 'join', room, display: `bench-${port}`, codec: 'pcmu', rtp: { ip: address, port, payload_type: 0 } },
      });
    }
    // Collect the "joined" events by long poll (bounded).
    const byHandle = new Map<number, LoadTarget>();
    const deadline = Date.now() + 20000;
    while (byHandle.size < handles.length && Date.now() < deadline) {
      const r = await fetch(`${this.base}/${session}?maxev=100&rid=${Date.now()}`, { signal: AbortSignal.timeout(35000) });
      const body = (await r.json()) as Json | Json[];
      for (const ev of Array.isArray(body) ? body : [body]) {
        const data = (ev.plugindata as { data?: Json } | undefined)?.data;
        const rtp = (ev.jsep as unknown) === undefined ? (data?.rtp as { ip?: unknown; port?: unknown } | undefined) : undefined;
        if (data?.audiobridge === 'joined' && rtp && typeof rtp.ip === 'string' && typeof rtp.port === 'number' && typeof ev.sender === 'number') {
          byHandle.set(ev.sender, { address: rtp.ip, port: rtp.port });
        } else if (data?.error !== undefined) {
          throw new Error(`janus join: ${String(data.error)}`);
        }
      }
    }
    if (byHandle.size < handles.length) throw new Error(`janus: only ${byHandle.size} of ${handles.length} participants joined`);
    return handles.map((h) => byHandle.get(h) as LoadTarget);
  }

  async close(): Promise<void> {
    await this.proc.stop('SIGTERM', 3000);
  }
}

// ---------------------------------------------------------------- the measurements

export interface PeerPoint {
  readonly impl: string;
  /** relay: calls (2 participants each); mix: participants in one room. */
  readonly units: number;
  readonly offeredOutPps: number;
  readonly outPps: number;
  readonly lossPct: number;
  readonly sendPct: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cost: PointCost;
  readonly error?: string;
}

export interface PeerEnv {
  readonly oursHost: string;
  readonly oursPort: number;
  readonly peerHost: string;
  readonly loadgenBind: string;
  readonly reflectorCpu?: number;
  readonly durationS: number;
  readonly warmupS: number;
}

/** 2-party relay: `calls` calls of 2 participants at 50 packets/s of 172 bytes each. */
export async function relayPoint(impl: 'ours' | 'rtpengine', calls: number, env: PeerEnv): Promise<PeerPoint> {
  const pin = env.reflectorCpu === undefined ? {} : { cpu: env.reflectorCpu };
  let pid: number | undefined;
  let admit: (groups: readonly JoinGroup[]) => Promise<readonly LoadTarget[] | void>;
  let probe: CostProbe | undefined;
  let close: () => Promise<void>;
  let loop: { reset(): Promise<void>; read(): Promise<{ p50Ms: number; p99Ms: number; maxMs: number }> } | undefined;
  const host = impl === 'ours' ? env.oursHost : env.peerHost;
  if (impl === 'ours') {
    const core = await CoreChild.start({ listen: env.oursHost, audioPort: env.oursPort, ...pin });
    pid = core.proc.pid;
    loop = { reset: () => core.loopReset(), read: () => core.loopDelay() };
    admit = async (groups) => {
      await core.join(groups);
    };
    close = () => core.close();
    probe = new CostProbe(pid, host, [env.oursPort], loop);
  } else {
    const engine = await Rtpengine.start({ host: env.peerHost, ngPort: 2223, portMin: 30000, portMax: 39999, clientBind: env.loadgenBind, ...pin });
    pid = engine.proc.pid;
    admit = async (groups) => {
      const t = await engine.admitCalls(groups);
      probe = new CostProbe(pid, host, [...new Set(t.map((x) => x.port))]);
      probe.begin();
      return t;
    };
    close = () => engine.close();
  }
  try {
    if (impl === 'ours') probe?.begin();
    const r = await runLoadgen({
      bindAddress: env.loadgenBind,
      targetAddress: env.oursHost,
      targetPort: env.oursPort,
      sessions: calls,
      parties: 2,
      ratePps: AUDIO_PPS,
      sizeBytes: AUDIO_BYTES,
      durationS: env.durationS,
      warmupS: env.warmupS,
      sessionPrefix: `relay-${impl}-`,
      admit,
      onMeasureStart: () => probe?.windowStart(),
      onMeasureEnd: () => probe?.windowEnd(),
    });
    const cost = probe ? await probe.end(r.outPps) : {};
    return { impl, units: calls, offeredOutPps: calls * 2 * AUDIO_PPS, outPps: r.outPps, lossPct: r.lossPct, sendPct: r.sendPct, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cost };
  } finally {
    await close();
  }
}

/** N-party mixing in Janus AudioBridge: one room of `participants`, all talking (PCMU, 8 kHz room). */
export async function janusMixPoint(participants: number, env: PeerEnv): Promise<PeerPoint> {
  const janus = await Janus.start({ host: env.peerHost, httpPort: 8088, rtpPortMin: 40000, rtpPortMax: 49999, ...(env.reflectorCpu === undefined ? {} : { cpu: env.reflectorCpu }) });
  let probe: CostProbe | undefined;
  try {
    const r = await runLoadgen({
      bindAddress: env.loadgenBind,
      targetAddress: env.peerHost,
      targetPort: 1,
      sessions: 1,
      parties: participants,
      ratePps: AUDIO_PPS,
      sizeBytes: AUDIO_BYTES,
      durationS: env.durationS,
      warmupS: env.warmupS,
      mixed: { outPpsPerParticipant: AUDIO_PPS },
      admit: async (groups) => {
        const g = groups[0] as JoinGroup;
        const t = await janus.admitRoom(4242, g.address, g.ports);
        probe = new CostProbe(janus.proc.pid, env.peerHost, [...new Set(t.map((x) => x.port))]);
        probe.begin();
        return t;
      },
      onMeasureStart: () => probe?.windowStart(),
      onMeasureEnd: () => probe?.windowEnd(),
    });
    const cost = probe ? await probe.end(r.outPps) : {};
    return { impl: 'janus', units: participants, offeredOutPps: participants * AUDIO_PPS, outPps: r.outPps, lossPct: r.lossPct, sendPct: r.sendPct, p50Ms: -1, p99Ms: -1, cost };
  } finally {
    await janus.close();
  }
}
