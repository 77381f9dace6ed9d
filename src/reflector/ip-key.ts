/**
 * Cheap keys for source addresses (SPEC §5 attribution). A datagram's source
 * is looked up per packet, so IPv4 addresses (also IPv4-mapped IPv6 from a
 * dual-stack socket) are parsed into a number without allocating; IPv6 uses a
 * two-level map keyed by the textual address Node hands us, then the port.
 */

const MAPPED_PREFIX = '::ffff:';

/** True when `s` starts with "::ffff:" (any case) — an IPv4-mapped IPv6 address. Never allocates. */
function hasMappedPrefix(s: string): boolean {
  if (s.length < MAPPED_PREFIX.length + 7) return false;
  for (let i = 0; i < MAPPED_PREFIX.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== MAPPED_PREFIX.charCodeAt(i)) return false;
  }
  return true;
}

/** The IPv4 address in `s` (plain or `::ffff:a.b.c.d`) as a uint32, or -1. Never allocates. */
export function ipv4ToNumber(s: string): number {
  const n = s.length;
  let i = 0;
  if (n > 0 && s.charCodeAt(0) === 0x3a) {
    if (!hasMappedPrefix(s)) return -1;
    i = MAPPED_PREFIX.length;
  }
  let value = 0;
  for (let part = 0; part < 4; part++) {
    let octet = 0;
    let digits = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      octet = octet * 10 + (c - 0x30);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || octet > 255) return -1;
    value = value * 256 + octet;
    if (part < 3) {
      if (i >= n || s.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === n ? value : -1;
}

/** The textual IP used for comparisons: IPv4-mapped IPv6 becomes IPv4, IPv6 lower-case. */
export function normalizeIp(ip: string): string {
  if (hasMappedPrefix(ip) && ip.includes('.')) {
    return ip.slice(MAPPED_PREFIX.length);
  }
  return ip.includes(':') ? ip.toLowerCase() : ip;
}

/** "ip:port", or "[ip]:port" for IPv6 (status output). */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * A map from a source (ip, port) to a value, looked up per packet without
 * allocating. IPv4 keys are ip * 65536 + port (48 bits: a safe integer).
 */
export class SourceMap<T> {
  readonly #v4 = new Map<number, T>();
  readonly #v6 = new Map<string, Map<number, T>>();

  get(ip: string, port: number): T | undefined {
    const v4 = ipv4ToNumber(ip);
    if (v4 >= 0) return this.#v4.get(v4 * 65536 + port);
    // Node reports IPv6 sources in lower case (inet_ntop); set() stores them that way.
    return this.#v6.get(ip)?.get(port);
  }

  set(ip: string, port: number, value: T): void {
    const v4 = ipv4ToNumber(ip);
    if (v4 >= 0) {
      this.#v4.set(v4 * 65536 + port, value);
      return;
    }
    const key = ip.toLowerCase();
    let ports = this.#v6.get(key);
    if (ports === undefined) {
      ports = new Map();
      this.#v6.set(key, ports);
    }
    ports.set(port, value);
  }

  delete(ip: string, port: number): void {
    const v4 = ipv4ToNumber(ip);
    if (v4 >= 0) {
      this.#v4.delete(v4 * 65536 + port);
      return;
    }
    const key = ip.toLowerCase();
    const ports = this.#v6.get(key);
    if (ports === undefined) return;
    ports.delete(port);
    if (ports.size === 0) this.#v6.delete(key);
  }

  clear(): void {
    this.#v4.clear();
    this.#v6.clear();
  }

  get size(): number {
    let n = this.#v4.size;
    for (const m of this.#v6.values()) n += m.size;
    return n;
  }
}
