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
