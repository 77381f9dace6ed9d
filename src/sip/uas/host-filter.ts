/**
 * HOSTS_ALLOW / HOSTS_DENY as tcp_wrappers (SPEC §3): a source matching
 * HOSTS_ALLOW is allowed, else one matching HOSTS_DENY is refused, else allowed.
 */
import net from 'node:net';
import type { Cidr } from '../../config/types.js';

function toBigInt(ip: string): { family: 4 | 6; value: bigint } | undefined {
  let a = ip;
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  if (net.isIPv4(a)) {
    const p = a.split('.').map(Number);
    return { family: 4, value: BigInt((((p[0] ?? 0) << 24) >>> 0) + ((p[1] ?? 0) << 16) + ((p[2] ?? 0) << 8) + (p[3] ?? 0)) };
  }
  if (!net.isIPv6(a)) return undefined;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const [head = '', tail] = a.split('::');
  const hp = head.length > 0 ? head.split(':') : [];
  const tp = tail !== undefined && tail.length > 0 ? tail.split(':') : [];
  const groups: string[] = [];
  const expand = (parts: string[]): void => {
    for (const g of parts) {
      if (net.isIPv4(g)) {
        const v = g.split('.').map(Number);
        groups.push((((v[0] ?? 0) << 8) | (v[1] ?? 0)).toString(16), (((v[2] ?? 0) << 8) | (v[3] ?? 0)).toString(16));
      } else groups.push(g);
    }
  };
  const hg: string[] = [];
  const tg: string[] = [];
  expand(hp); hg.push(...groups.splice(0));
  expand(tp); tg.push(...groups.splice(0));
  const fill = tail !== undefined ? 8 - hg.length - tg.length : 0;
  const all = [...hg, ...Array<string>(Math.max(0, fill)).fill('0'), ...tg];
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(parseInt(g, 16) || 0);
  return { family: 6, value: v };
}

export function cidrMatches(c: Cidr, ip: string): boolean {
  const a = toBigInt(ip);
  const n = toBigInt(c.address);
  if (a === undefined || n === undefined || a.family !== c.family || n.family !== c.family) return false;
  const bits = BigInt(c.family === 4 ? 32 : 128);
  const prefix = BigInt(Math.max(0, Math.min(Number(bits), c.prefix)));
  if (prefix === 0n) return true;
  const shift = bits - prefix;
  return a.value >> shift === n.value >> shift;
}

export function hostAllowed(allow: readonly Cidr[], deny: readonly Cidr[], ip: string): boolean {
  if (allow.some((c) => cidrMatches(c, ip))) return true;
  if (deny.some((c) => cidrMatches(c, ip))) return false;
  return true;
}
