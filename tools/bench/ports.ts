/**
 * Picking UDP ports on 127.0.0.1 for the C harness (participants.c binds
 * 127.0.0.1:LOCAL_BASE+2i, which we cannot move to our own loopback address):
 * a base whose 2K ports nobody has bound, read from /proc/net/udp.
 */
import { readFileSync } from 'node:fs';

const CANDIDATE_BASES = [21000, 21200, 21400, 21600, 21800, 22000, 22200, 22400, 22600, 22800, 23000];

/** Local ports bound on 127.0.0.1 or the wildcard address, from /proc/net/udp. */
export function boundLoopbackPorts(): Set<number> {
  const used = new Set<number>();
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return used;
  }
  for (const line of text.split('\n').slice(1)) {
    const m = /^\s*\d+:\s+([0-9A-F]{8}):([0-9A-F]{4})\s/.exec(line);
    if (!m) continue;
    const addr = m[1] as string;
    if (addr === '0100007F' || addr === '00000000') used.add(parseInt(m[2] as string, 16));
  }
  return used;
}

/** A LOCAL_BASE such that ports base..base+2k+1 are free on 127.0.0.1 right now. */
export function pickLocalBase(k: number, avoid: ReadonlySet<number> = new Set()): number {
  const used = boundLoopbackPorts();
  for (const base of CANDIDATE_BASES) {
    if (avoid.has(base)) continue;
    let free = true;
    for (let p = base; p < base + 2 * k + 2 && free; p++) if (used.has(p)) free = false;
    if (free) return base;
  }
  throw new Error(`no free LOCAL_BASE for ${k} participants on 127.0.0.1 among ${CANDIDATE_BASES.join(', ')}`);
}

function hexAddress(ipv4: string, port: number): string {
  const octets = ipv4.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'));
  return `${octets.reverse().join('')}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Kernel receive-queue drops (last column of /proc/net/udp) of the sockets bound to
 * `address`:port for each given port: who lost the packets, the reflector or the harness.
 */
export function udpDrops(address: string, ports: readonly number[]): number {
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return 0;
  }
  const wanted = new Set(ports.map((p) => hexAddress(address, p)));
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    if (!wanted.has(fields[1] as string)) continue;
    const d = Number(fields[fields.length - 1]);
    if (Number.isFinite(d)) drops += d;
  }
  return drops;
}
