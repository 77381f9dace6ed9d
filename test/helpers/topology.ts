/**
 * Network-namespace topologies for tests (root only; `ip netns`, veth, bridges, nft/iptables).
 *
 * One call builds a small network from a description, and one call always takes it down again:
 *
 *   const topo = await createTopology({
 *     prefix: 'rrfw',                                   // namespace names: `${prefix}${process.pid}-<name>`
 *     nets: { lan: '192.0.2.0/24', dmz: '198.51.100.0/24' },
 *     nodes: {
 *       u1:  { links: { lan: '192.0.2.11' }, gateway: '192.0.2.1' },
 *       fw2: { links: { lan: '192.0.2.1', dmz: '198.51.100.2' }, forward: true, gateway: '198.51.100.1' },
 *       r2:  { links: { dmz: '198.51.100.10' }, routes: [{ to: '192.0.2.0/24', via: '198.51.100.2' }] },
 *     },
 *   });
 *   try {
 *     await topo.nft('fw2', rulesText);                  // `nft -f -` inside fw2 (or topo.iptablesRestore)
 *     const p = topo.spawn('r2', process.execPath, [MAIN_JS, '--config', file]);  // tracked, killed by destroy()
 *     const { code, stdout } = await topo.run('u1', 'node', ['-e', '...']);        // bounded
 *   } finally {
 *     await topo.destroy();                               // kills tracked processes, deletes every namespace
 *   }
 *
 * Model: each net is a bridge in a namespace of its own (`<prefix><pid>-net-<net>`); each node is a
 * namespace (`<prefix><pid>-<node>`) with loopback up and one veth per link, named after the net (so
 * packet-filter rules can say `iifname "lan"`), holding the given address as a /prefix of that net plus
 * `extra` addresses (e.g. a NAT firewall's public alias). `forward: true` sets net.ipv4.ip_forward=1 in
 * that node. `gateway` is the default route, `routes` further static routes.
 *
 * Safety: only addresses of RFC 5737 networks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are
 * accepted, so nothing here can send anywhere else. createTopology() removes what it built if it fails
 * half-way; destroy() is idempotent and also runs (synchronously) on process exit; a topology left
 * behind by a dead test process (same prefix, pid no longer running) is removed on the next create.
 *
 * Processes: spawn() runs `ip netns exec <ns> cmd ...` (exec, so the child pid is the command itself);
 * netnsArgv() gives that argv for helpers that spawn themselves (reflector-process.ts, client-cli.ts
 * take a `netns` option). httpGetJson() / httpRequest() reach a status API inside a namespace (a
 * short-lived `node -e` fetch there). Faults: apply further nft/iptables rules in a router node with
 * nft() / sh() (e.g. a `statistic` loss rule, or a drop-everything table for a partition) and remove
 * them again; see test/integration/firewall-faults.test.ts. The firewall pair itself (nodes, addresses,
 * printed rules, reflectors, clients) is test/helpers/firewall-pair-netns.ts.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface NodeSpec {
  /** net name → this node's address on it. */
  readonly links: Readonly<Record<string, string>>;
  /** Further addresses per net (same prefix), e.g. a static-NAT alias. */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  readonly gateway?: string;
  readonly routes?: readonly { readonly to: string; readonly via: string }[];
  /** IPv4 forwarding on (routers and firewalls). */
  readonly forward?: boolean;
}

export interface TopologySpec {
  /** Namespace name prefix of the test's owner (e.g. `rrfw`); the pid is appended. */
  readonly prefix: string;
  /** net name → IPv4 network `a.b.c.0/24` (RFC 5737 only). */
  readonly nets: Readonly<Record<string, string>>;
  readonly nodes: Readonly<Record<string, NodeSpec>>;
}

export interface RunResult { readonly code: number | null; readonly stdout: string; readonly stderr: string }

export interface Topology {
  readonly spec: TopologySpec;
  /** Namespace name of a node. */
  ns(node: string): string;
  /** argv that runs `argv` inside the node's namespace. */
  netnsArgv(node: string, argv: readonly string[]): string[];
  /** Runs a command inside the node to completion (bounded by timeoutMs), with optional stdin text. */
  run(node: string, cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Like run(), but rejects (with the output) unless the exit code is 0. */
  sh(node: string, cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Starts a long-running process inside the node; destroy() kills it if still running. */
  spawn(node: string, cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Registers a process started elsewhere (e.g. by a helper) to be killed by destroy(). */
  track(proc: ChildProcess): void;
  /** `nft -f -` with `rules` inside the node. */
  nft(node: string, rules: string): Promise<void>;
  /** `iptables-restore` with `rules` inside the node. */
  iptablesRestore(node: string, rules: string): Promise<void>;
  /** GET http://host:port/path from inside the node, parsed as JSON. */
  httpGetJson(node: string, url: string, timeoutMs?: number): Promise<unknown>;
  /** Any HTTP request from inside the node: status and body text. */
  httpRequest(node: string, url: string, init?: { method?: string; headers?: Record<string, string> }, timeoutMs?: number): Promise<{ status: number; body: string }>;
  /** Kills tracked processes (SIGKILL), deletes every namespace. Idempotent. */
  destroy(): Promise<void>;
}

const RFC5737 = ['192.0.2.', '198.51.100.', '203.0.113.'];
const isDocAddress = (a: string): boolean => RFC5737.some((p) => a.startsWith(p)) && /^\d+\.\d+\.\d+\.\d+$/.test(a);
const NAME = /^[a-z][a-z0-9]{0,9}$/;

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function listNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Kills every process in a namespace (`ip netns pids`), then deletes it; never throws. */
function removeNamespace(name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').map((l) => Number(l.trim())).filter((n) => Number.isInteger(n) && n > 0);
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  } catch { /* no such namespace */ }
  try { ip(['netns', 'del', name]); } catch { /* already gone */ }
}

/** Namespaces `<prefix><pid>-...` whose pid is dead: left behind by a crashed test run. */
function removeStale(prefix: string): void {
  const re = new RegExp(`^${prefix}(\\d+)-`);
  for (const name of listNamespaces()) {
    const m = re.exec(name);
    if (m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) removeNamespace(name);
  }
}

function validate(spec: TopologySpec): void {
  if (!/^[a-z]{2,8}$/.test(spec.prefix)) throw new Error(`topology prefix ${spec.prefix}: 2-8 lower-case letters`);
  for (const [net, cidr] of Object.entries(spec.nets)) {
    if (!NAME.test(net)) throw new Error(`net name ${net}: a-z0-9, at most 10`);
    const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(cidr);
    if (m === null || !isDocAddress(`${m[1]!}.0`)) throw new Error(`net ${net} ${cidr}: only RFC 5737 /24 networks`);
  }
  for (const [node, n] of Object.entries(spec.nodes)) {
    if (!NAME.test(node) || node.startsWith('net')) throw new Error(`node name ${node}: a-z0-9, at most 10, not net*`);
    const all = [...Object.values(n.links), ...Object.values(n.extra ?? {}).flat(), ...(n.gateway !== undefined ? [n.gateway] : []),
      ...(n.routes ?? []).flatMap((r) => [r.via, r.to.replace(/\/\d+$/, '')])];
    for (const a of all) if (!isDocAddress(a)) throw new Error(`node ${node}: ${a} is not an RFC 5737 address`);
    for (const [net, a] of Object.entries(n.links)) {
      const cidr = spec.nets[net];
      if (cidr === undefined) throw new Error(`node ${node}: unknown net ${net}`);
      if (!a.startsWith(cidr.replace(/0\/24$/, ''))) throw new Error(`node ${node}: ${a} is not in ${net} ${cidr}`);
    }
  }
}

export async function createTopology(spec: TopologySpec): Promise<Topology> {
  validate(spec);
  removeStale(spec.prefix);
  const base = `${spec.prefix}${process.pid}-`;
  const created: string[] = [];
  const procs = new Set<ChildProcess>();
  const ns = (node: string): string => {
    if (spec.nodes[node] === undefined) throw new Error(`no node ${node}`);
    return `${base}${node}`;
  };
  let destroyed = false;
  const destroySync = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    for (const name of created.splice(0).reverse()) removeNamespace(name);
    process.off('exit', destroySync);
  };
  process.on('exit', destroySync);

  try {
    for (const net of Object.keys(spec.nets)) {
      const sw = `${base}net-${net}`;
      ip(['netns', 'add', sw]);
      created.push(sw);
      ip(['-n', sw, 'link', 'add', 'name', 'sw0', 'type', 'bridge']);
      ip(['-n', sw, 'link', 'set', 'dev', 'sw0', 'up']);
    }
    for (const [node, n] of Object.entries(spec.nodes)) {
      const name = ns(node);
      ip(['netns', 'add', name]);
      created.push(name);
      ip(['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
      for (const [net, address] of Object.entries(n.links)) {
        const sw = `${base}net-${net}`;
        const port = `v-${node}`;
        ip(['-n', name, 'link', 'add', 'name', net, 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
        ip(['-n', sw, 'link', 'set', 'dev', port, 'master', 'sw0']);
        ip(['-n', sw, 'link', 'set', 'dev', port, 'up']);
        ip(['-n', name, 'addr', 'add', `${address}/24`, 'dev', net]);
        for (const a of n.extra?.[net] ?? []) ip(['-n', name, 'addr', 'add', `${a}/24`, 'dev', net]);
        ip(['-n', name, 'link', 'set', 'dev', net, 'up']);
      }
      if (n.forward === true) execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { timeout: 10_000, stdio: 'ignore' });
      if (n.gateway !== undefined) ip(['-n', name, 'route', 'add', 'default', 'via', n.gateway]);
      for (const r of n.routes ?? []) ip(['-n', name, 'route', 'add', r.to, 'via', r.via]);
    }
  } catch (err) {
    destroySync();
    throw err;
  }

  const run = (node: string, cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> =>
    new Promise((resolve) => {
      const child = execFile('ip', ['netns', 'exec', ns(node), cmd, ...args], { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 4 << 20, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
          resolve({ code, stdout, stderr: err !== null && code === null ? `${stderr}\n${err.message}` : stderr });
        });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input ?? '');
    });

  const topo: Topology = {
    spec,
    ns,
    netnsArgv: (node, argv) => ['ip', 'netns', 'exec', ns(node), ...argv],
    run,
    async sh(node, cmd, args, opts) {
      const r = await run(node, cmd, args, opts);
      if (r.code !== 0) throw new Error(`${node}: ${cmd} ${args.join(' ')} exited ${String(r.code)}\n${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    spawn(node, cmd, args, opts = {}) {
      const p = spawn('ip', ['netns', 'exec', ns(node), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
      procs.add(p);
      return p;
    },
    track(p) { procs.add(p); },
    async nft(node, rules) { await topo.sh(node, 'nft', ['-f', '-'], { input: rules }); },
    async iptablesRestore(node, rules) { await topo.sh(node, 'iptables-restore', [], { input: rules }); },
    async httpGetJson(node, url, timeoutMs = 8000) {
      const r = await topo.httpRequest(node, url, {}, timeoutMs);
      if (r.status !== 200) throw new Error(`GET ${url} in ${node}: ${r.status} ${r.body.slice(0, 200)}`);
      return JSON.parse(r.body) as unknown;
    },
    async httpRequest(node, url, init = {}, timeoutMs = 8000) {
      const script = `fetch(${JSON.stringify(url)}, { ...${JSON.stringify(init)}, signal: AbortSignal.timeout(${timeoutMs}) })`
        + '.then(async (r) => { process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })); },'
        + ' (e) => { process.stderr.write(String(e)); process.exit(1); })';
      const out = await topo.sh(node, process.execPath, ['-e', script], { timeoutMs: timeoutMs + 5000 });
      return JSON.parse(out) as { status: number; body: string };
    },
    async destroy() {
      const waits = [...procs].filter((p) => p.exitCode === null && p.signalCode === null)
        .map((p) => new Promise<void>((resolve) => { p.once('exit', () => resolve()); setTimeout(resolve, 3000).unref(); }));
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
      await Promise.all(waits);
      destroySync();
    },
  };
  return topo;
}

/** True when this process may build namespaces (root with `ip` and `nft`). */
export function canBuildTopologies(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: 5000 });
    execFileSync('nft', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
