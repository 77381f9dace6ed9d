/**
 * The firewall pair of SPEC §1/§14 in network namespaces (topology.ts), with the packet-filter rules
 * exactly as `reflector firewall-rules` prints them for R2's configuration:
 *
 *   u1 192.0.2.11 ┐                                        ┌ R1 203.0.113.10 (SIP_AUTH on)
 *   u2 192.0.2.12 ┴ lan ─ fw2 ─ dmz ─ R2 198.51.100.10 ─ fw1 ─ inet ┼ u3 203.0.113.21
 *                  (masquerade,       fw1 198.51.100.1 / 203.0.113.1 └ u4 203.0.113.22
 *                   inside-initiated)  (nat: R2 appears as 203.0.113.2, static 1:1 keeping ports)
 *
 * R1 and the Internet clients route the DMZ through fw1 only in the variant without NAT; with NAT
 * they have no route to 198.51.100.0/24 at all and know R2 only as 203.0.113.2.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClient, type ClientProcess } from './client-cli.js';
import { MAIN_JS, startReflector, type ReflectorProcess } from './reflector-process.js';
import { canBuildTopologies, createTopology, type Topology } from './topology.js';

export const ADDR = {
  u1: '192.0.2.11', u2: '192.0.2.12', fw2Lan: '192.0.2.1', fw2Dmz: '198.51.100.2',
  r2: '198.51.100.10', fw1Dmz: '198.51.100.1', fw1Inet: '203.0.113.1', r2Nat: '203.0.113.2',
  r1: '203.0.113.10', u3: '203.0.113.21', u4: '203.0.113.22',
} as const;

export const USERS = { u3: 'secret-of-u3', u4: 'secret-of-u4' } as const;
export const INTERCONNECT_SECRET = 'long-shared-secret';
export const ADMIN_TOKEN = 'admin-token-for-tests';

export interface PairOptions {
  /** fw1 translates R2 1:1 to 203.0.113.2. */
  readonly nat: boolean;
  readonly format: 'nft' | 'iptables';
  /** Extra config lines for both reflectors. */
  readonly extra?: string;
}

export interface FirewallPair {
  readonly topo: Topology;
  readonly dir: string;
  r1: ReflectorProcess;
  r2: ReflectorProcess;
  /** R2's address as the Internet side knows it. */
  readonly r2Outside: string;
  /** The rules as printed, applied to fw1 and fw2. */
  readonly rules: { fw1: string; fw2: string };
  readonly spool: { r1: string; r2: string };
  readonly configs: { r1: string; r2: string };
  client(node: 'u1' | 'u2' | 'u3' | 'u4', session: string, args: readonly string[], waitMs?: number): ClientProcess;
  /** GET the status API of a reflector from inside its namespace. */
  status(which: 'r1' | 'r2', path: string): Promise<unknown>;
  /** DELETE on the status API with the admin token; the HTTP status. */
  adminDelete(which: 'r1' | 'r2', path: string): Promise<number>;
  /** Starts (again) a reflector in its namespace with its config. */
  restart(which: 'r1' | 'r2'): Promise<ReflectorProcess>;
  /** Files left in a spool dir. */
  spoolFiles(which: 'r1' | 'r2'): string[];
  output(): string;
  destroy(): Promise<void>;
}

/** In CI a missing capability is a failure; elsewhere the suite is skipped (the interop rule). */
export function requireTopologies(ctx: Mocha.Context): void {
  if (canBuildTopologies()) return;
  if (process.env.CI !== undefined) throw new Error('network namespaces need root, ip and nft (CI runs as root)');
  ctx.skip();
}

/** `node dist/src/main.js firewall-rules ...` — the text the firewalls get, unchanged. */
export function printedRules(configFile: string, args: readonly string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, 'firewall-rules', '--config', configFile, ...args], { encoding: 'utf8', timeout: 15_000 });
}

export async function startFirewallPair(o: PairOptions): Promise<FirewallPair> {
  const inetRoutes = o.nat ? [] : [{ to: '198.51.100.0/24', via: ADDR.fw1Inet }];
  const topo = await createTopology({
    prefix: 'rrfw',
    nets: { lan: '192.0.2.0/24', dmz: '198.51.100.0/24', inet: '203.0.113.0/24' },
    nodes: {
      u1: { links: { lan: ADDR.u1 }, gateway: ADDR.fw2Lan },
      u2: { links: { lan: ADDR.u2 }, gateway: ADDR.fw2Lan },
      fw2: { links: { lan: ADDR.fw2Lan, dmz: ADDR.fw2Dmz }, forward: true },
      r2: { links: { dmz: ADDR.r2 }, gateway: ADDR.fw1Dmz },
      fw1: { links: { dmz: ADDR.fw1Dmz, inet: ADDR.fw1Inet }, forward: true, ...(o.nat ? { extra: { inet: [ADDR.r2Nat] } } : {}) },
      r1: { links: { inet: ADDR.r1 }, routes: inetRoutes },
      u3: { links: { inet: ADDR.u3 }, routes: inetRoutes },
      u4: { links: { inet: ADDR.u4 }, routes: inetRoutes },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'rrfw-pair-'));
  const children: ClientProcess[] = [];
  let r1: ReflectorProcess | undefined;
  let r2: ReflectorProcess | undefined;
  const destroy = async (): Promise<void> => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all([r1?.stop(2000), r2?.stop(2000)]);
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const r2Outside = o.nat ? ADDR.r2Nat : ADDR.r2;
    const spool = { r1: join(dir, 'spool-r1'), r2: join(dir, 'spool-r2') };
    mkdirSync(spool.r1);
    mkdirSync(spool.r2);
    const common = (address: string, spoolDir: string): string[] => [
      `REFLECTOR_ID ${address === ADDR.r2 ? 'r2' : 'r1'}`,
      `LISTEN_ADDRESS ${address}`, `PUBLIC_ADDRESS ${address}`,
      `STATUS_LISTEN ${address}:8080`, 'LOG_LEVEL debug', `FILE_SPOOL_DIR ${spoolDir}`,
      `INTERCONNECTION_SECRET ${INTERCONNECT_SECRET}`, `ADMIN_TOKEN ${ADMIN_TOKEN}`, o.extra ?? '',
    ];
    const configs = {
      r2: [...common(ADDR.r2, spool.r2), `REFLECTOR_INTERCONNECTION ${ADDR.r1} 5564`].join('\n') + '\n',
      r1: [...common(ADDR.r1, spool.r1), `REFLECTOR_INTERCONNECTION ${r2Outside} 5564`,
        'SIP_AUTH on', `SIP_USER u3 ${USERS.u3}`, `SIP_USER u4 ${USERS.u4}`].join('\n') + '\n',
    };
    const r2File = join(dir, 'r2.conf');
    writeFileSync(r2File, configs.r2);
    const fmt = ['--format', o.format];
    const nat = o.nat ? ['--nat-address', ADDR.r2Nat] : [];
    const rules = {
      fw1: printedRules(r2File, [...fmt, '--firewall', '1', ...nat]),
      fw2: printedRules(r2File, [...fmt, '--firewall', '2', '--fw2-inside', 'lan', '--fw2-outside', 'dmz']),
    };
    for (const [node, text] of [['fw1', rules.fw1], ['fw2', rules.fw2]] as const) {
      if (o.format === 'nft') await topo.nft(node, text);
      else await topo.iptablesRestore(node, text);
    }
    r2 = await startReflector({ config: configs.r2, netns: topo.ns('r2') });
    r1 = await startReflector({ config: configs.r1, netns: topo.ns('r1') });
    const pair: FirewallPair = {
      topo, dir, r1, r2, r2Outside, rules, spool, configs,
      client(node, session, args, waitMs = 90_000) {
        const server = node === 'u1' || node === 'u2' ? ADDR.r2 : ADDR.r1;
        const creds = node === 'u3' || node === 'u4' ? ['--user', node, '--password', USERS[node]] : [];
        const c = startClient({ server, local: ADDR[node], session, args: [...creds, ...args], cwd: dir, waitMs, stepTimeoutS: 60, netns: topo.ns(node) });
        children.push(c);
        return c;
      },
      status(which, path) {
        return topo.httpGetJson(which, `http://${which === 'r1' ? ADDR.r1 : ADDR.r2}:8080${path}`);
      },
      async adminDelete(which, path) {
        const r = await topo.httpRequest(which, `http://${which === 'r1' ? ADDR.r1 : ADDR.r2}:8080${path}`,
          { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        return r.status;
      },
      async restart(which) {
        const p = await startReflector({ config: configs[which], netns: topo.ns(which) });
        if (which === 'r1') { r1 = p; pair.r1 = p; } else { r2 = p; pair.r2 = p; }
        return p;
      },
      spoolFiles(which) { return readdirSync(spool[which]); },
      output() {
        return `--- R2 ---\n${(pair.r2.output()).slice(-5000)}\n--- R1 ---\n${(pair.r1.output()).slice(-5000)}`;
      },
      destroy,
    };
    return pair;
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** Tries a TCP connection from inside `node`; resolves 'connected', 'refused' or 'timeout'. */
export async function tcpProbe(topo: Topology, node: string, host: string, port: number, timeoutMs = 1000): Promise<string> {
  const script = `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
    const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, ${timeoutMs});
    s.on('connect', () => { console.log('connected'); s.destroy(); clearTimeout(t); });
    s.on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : 'error:' + e.code); clearTimeout(t); });`;
  return (await topo.sh(node, process.execPath, ['-e', script], { timeoutMs: timeoutMs + 10_000 })).trim();
}
