/**
 * IP address and network forms accepted by the configuration (SPEC §3):
 * addresses as node:net `isIP` accepts them, networks as `address/prefix`
 * with no host bits set, and `all`.
 */
import { isIP } from 'node:net';
import type { Cidr } from './types.js';

/** Wildcard bind addresses: fine for LISTEN_ADDRESS, never an address to advertise or send to. */
export function isWildcard(address: string): boolean {
  const bytes = addressBytes(address);
  return bytes !== null && bytes.every((b) => b === 0);
}

/** The 4 or 16 bytes of a textual address without zone id, or null. */
export function addressBytes(address: string): Uint8Array | null {
  const family = isIP(address);
  if (family === 4) return Uint8Array.from(address.split('.').map(Number));
  if (family !== 6 || address.includes('%')) return null;
  let text = address;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded IPv4 (::ffff:192.0.2.1) becomes its two trailing 16-bit groups.
    const v4 = text.slice(lastColon + 1).split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const back = halves.length > 1 && halves[1] !== '' ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? 8 - head.length - back.length : 0;
  const all = [...head, ...new Array<string>(Math.max(fill, 0)).fill('0'), ...back].map((g) => parseInt(g, 16));
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) { out[2 * i] = all[i] >> 8; out[2 * i + 1] = all[i] & 0xff; }
  return out;
}

/** Parses one HOSTS_ALLOW/HOSTS_DENY token; `all` yields both families. Returns an error text on failure. */
export function parseNetwork(token: string): readonly Cidr[] | string {
  if (token.toLowerCase() === 'all') {
    return [{ family: 4, address: '0.0.0.0', prefix: 0 }, { family: 6, address: '::', prefix: 0 }];
  }
  const slash = token.indexOf('/');
  const address = (slash < 0 ? token : token.slice(0, slash)).toLowerCase();
  const bytes = addressBytes(address);
  if (bytes === null) return 'expected `all`, an IPv4/IPv6 address or network/prefix';
  const family: 4 | 6 = bytes.length === 4 ? 4 : 6;
  const maxPrefix = family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const p = token.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > maxPrefix) return `expected a prefix length 0-${maxPrefix} after /`;
    prefix = Number(p);
  }
  for (let bit = prefix; bit < maxPrefix; bit++) {
    if ((bytes[bit >> 3] >> (7 - (bit & 7))) & 1) return `expected no host bits set after /${prefix} (address ${address} is inside a network; write its network address)`;
  }
  return [{ family, address, prefix }];
}

/**
 * True when the first `prefix` bits of `ip` equal those of `network` (both the 4 or 16 bytes of
 * addressBytes(); different lengths never match). The one CIDR match of HOSTS_ALLOW/HOSTS_DENY,
 * for SIP (sip/uas/host-filter.ts) and media (reflector/host-policy.ts).
 */
export function prefixMatches(network: Uint8Array, prefix: number, ip: Uint8Array): boolean {
  if (network.length !== ip.length) return false;
  let bits = Math.max(0, Math.min(prefix, ip.length * 8));
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((network[i] & mask) !== (ip[i] & mask)) return false;
  }
  return true;
}
