/**
 * A minimal network-namespace topology for the ICE/TURN interop test (root only):
 *
 *   client ns ──veth── router ns ──veth── internet ns
 *   192.0.2.10/24      192.0.2.1            203.0.113.1/24 ... reflector, coturn and phones
 *                      203.0.113.1          on addresses of 203.0.113.0/24 (`inetAddresses`)
 *
 * The router forwards, and a packet filter in it can drop what the client sends
 * (`blockUdpFromClient()`: all UDP from the client side, as a corporate firewall that
 * lets only TCP/TLS out). Only RFC 5737 addresses are used. Namespaces are named
 * `<prefix><pid>-c|r|i`; destroy() kills the processes started through spawn() (by
 * pid) and deletes the namespaces, and is idempotent; it also runs on process exit.
 *
 * (A small helper of its own: the reusable firewall topology helper of the `fw`
 * branch was not on main when this test was written.)
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export const CLIENT_IP = '192.0.2.10';
const ROUTER_LAN = '192.0.2.1';
const ROUTER_INET = '203.0.113.1';

export interface UdpBlockedNet {
  readonly client: string;
  readonly router: string;
  readonly inet: string;
  /** Starts `cmd args` inside namespace `ns`; killed by destroy(). */
  spawn(ns: string, cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Runs a command inside `ns` to completion (throws on a non-zero exit). */
  exec(ns: string, cmd: string, args: readonly string[]): string;
  /** Router rule: every UDP datagram from the client side is dropped. */
  blockUdpFromClient(): void;
  /** Packets dropped by that rule so far. */
  udpDropped(): number;
  destroy(): void;
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Builds the topology; `inetAddresses` are extra 203.0.113.x addresses of the internet namespace. */
export function createUdpBlockedNet(prefix: string, inetAddresses: readonly string[]): UdpBlockedNet {
  for (const a of inetAddresses) if (!/^203\.0\.113\.\d{1,3}$/.test(a)) throw new Error(`not an RFC 5737 address of 203.0.113.0/24: ${a}`);
  const base = `${prefix}${process.pid}`;
  const client = `${base}-c`;
  const router = `${base}-r`;
  const inet = `${base}-i`;
  // Interface names are at most 15 characters.
  const tag = `ri${process.pid}`;
  const procs = new Set<ChildProcess>();
  let destroyed = false;

  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    process.off('exit', destroy);
    for (const p of procs) {
      if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    procs.clear();
    for (const ns of [client, router, inet]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
  };
  process.on('exit', destroy);

  try {
    for (const ns of [client, router, inet]) {
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['link', 'add', `${tag}c`, 'type', 'veth', 'peer', 'name', `${tag}r0`]);
    ip(['link', 'set', `${tag}c`, 'netns', client]);
    ip(['link', 'set', `${tag}r0`, 'netns', router]);
    ip(['link', 'add', `${tag}i`, 'type', 'veth', 'peer', 'name', `${tag}r1`]);
    ip(['link', 'set', `${tag}i`, 'netns', inet]);
    ip(['link', 'set', `${tag}r1`, 'netns', router]);
    ip(['-n', client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', `${tag}c`]);
    ip(['-n', client, 'link', 'set', `${tag}c`, 'up']);
    ip(['-n', client, 'route', 'add', 'default', 'via', ROUTER_LAN]);
    ip(['-n', router, 'addr', 'add', `${ROUTER_LAN}/24`, 'dev', `${tag}r0`]);
    ip(['-n', router, 'addr', 'add', `${ROUTER_INET}/24`, 'dev', `${tag}r1`]);
    ip(['-n', router, 'link', 'set', `${tag}r0`, 'up']);
    ip(['-n', router, 'link', 'set', `${tag}r1`, 'up']);
    execFileSync('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { timeout: 10_000 });
    for (const a of inetAddresses) ip(['-n', inet, 'addr', 'add', `${a}/24`, 'dev', `${tag}i`]);
    ip(['-n', inet, 'link', 'set', `${tag}i`, 'up']);
    ip(['-n', inet, 'route', 'add', '192.0.2.0/24', 'via', ROUTER_INET]);
  } catch (err) {
    destroy();
    throw err;
  }

  const exec = (ns: string, cmd: string, args: readonly string[]): string =>
    execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 20_000 });

  return {
    client,
    router,
    inet,
    spawn(ns, cmd, args, opts = {}) {
      if (destroyed) throw new Error('topology destroyed');
      const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts);
      procs.add(p);
      return p;
    },
    exec,
    blockUdpFromClient() {
      exec(router, 'iptables', ['-A', 'FORWARD', '-i', `${tag}r0`, '-p', 'udp', '-j', 'DROP']);
    },
    udpDropped() {
      const out = exec(router, 'iptables', ['-L', 'FORWARD', '-v', '-n', '-x']);
      // The protocol column reads `udp` or `17` depending on the iptables version.
      const line = out.split('\n').find((l) => /\bDROP\b/.test(l) && /\s(udp|17)\s/.test(l));
      return line === undefined ? 0 : Number(line.trim().split(/\s+/)[0]);
    },
    destroy,
  };
}
