/**
 * HOSTS_ALLOW / HOSTS_DENY as tcp_wrappers (SPEC §3): a source matching
 * HOSTS_ALLOW is allowed, else one matching HOSTS_DENY is refused, else allowed.
 */
import net from 'node:net';
import { addressBytes, prefixMatches } from '../../config/ip-address.js';
import type { Cidr } from '../../config/types.js';

/** The 4 or 16 bytes of an address; an IPv4-mapped IPv6 address counts as IPv4, a zone id is ignored. */
function bytesOf(ip: string): Uint8Array | null {
  let a = ip;
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  return addressBytes(a);
}

export function cidrMatches(c: Cidr, ip: string): boolean {
  const size = c.family === 4 ? 4 : 16;
  const a = bytesOf(ip);
  const n = bytesOf(c.address);
  if (a === null || n === null || a.length !== size || n.length !== size) return false;
  return prefixMatches(n, c.prefix, a);
}

export function hostAllowed(allow: readonly Cidr[], deny: readonly Cidr[], ip: string): boolean {
  if (allow.some((c) => cidrMatches(c, ip))) return true;
  if (deny.some((c) => cidrMatches(c, ip))) return false;
  return true;
}
