/**
 * HOSTS_ALLOW / HOSTS_DENY for media (SPEC §3: a refused source's media is
 * dropped), tcp_wrappers style: a source matching HOSTS_ALLOW is allowed,
 * else one matching HOSTS_DENY is refused, else allowed. Checked only on the
 * slow path (a source that is not latched yet, keep-alives), with a bounded
 * per-IP cache.
 */
import { addressBytes, prefixMatches } from '../config/ip-address.js';
import type { Cidr } from '../config/types.js';
import { normalizeIp } from './ip-key.js';

const CACHE_MAX = 4096;

interface Network {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

function compile(list: readonly Cidr[]): Network[] {
  const out: Network[] = [];
  for (const c of list) {
    const bytes = addressBytes(c.address);
    if (bytes !== null && bytes.length === (c.family === 4 ? 4 : 16)) out.push({ bytes, prefix: c.prefix });
  }
  return out;
}

function matches(net: Network, ip: Uint8Array): boolean {
  return prefixMatches(net.bytes, net.prefix, ip);
}

export class HostPolicy {
  readonly #allow: Network[];
  readonly #deny: Network[];
  readonly #cache = new Map<string, boolean>();

  constructor(allow: readonly Cidr[], deny: readonly Cidr[]) {
    this.#allow = compile(allow);
    this.#deny = compile(deny);
  }

  /** True when media from `ip` may be accepted. */
  allowed(ip: string): boolean {
    if (this.#deny.length === 0) return true;
    const cached = this.#cache.get(ip);
    if (cached !== undefined) return cached;
    const bytes = addressBytes(normalizeIp(ip));
    let ok = true;
    if (bytes !== null && !this.#allow.some((n) => matches(n, bytes))) ok = !this.#deny.some((n) => matches(n, bytes));
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(ip, ok);
    return ok;
  }
}
