/**
 * The one zod schema of the configuration (SPEC §3). Its input is what the
 * loader collected from the file: for each keyword the arguments of its line
 * (`string[]`), for a repeatable keyword (R) the arguments of every line
 * (`string[][]`), plus the `name secret` lines of SIP_USERS_FILE, the
 * directory relative paths are resolved against and the source file name.
 * Its output is exactly the `Config` of types.ts, defaults filled in from
 * `defaultConfig()`, deep-frozen.
 *
 * Every issue carries a path whose first element is the keyword (or
 * `usersFileEntries`) and, for repeatable keywords, the index of the line;
 * the loader turns that into FILE:LINE. Messages say what was expected.
 */
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { LogLevel } from '../runtime/logger.js';
import { defaultConfig, defaultPublicAddress, MAX_MEDIA_WORKERS } from './defaults.js';
import { addressBytes, isWildcard, parseNetwork } from './ip-address.js';
import { quote } from './line-parser.js';
import type { AudioMode, Cidr, Config, DigestAlgorithm, MediaWorkers, PeerConfig, PortRange, SipTransport, SipUser, SrtpPolicy } from './types.js';

// ---------------------------------------------------------------------------
// Tokens: one argument → one typed value, or an issue "expected …, got "…"".

type Parsed<T> = { readonly value: T } | { readonly error: string };

const ok = <T>(value: T): Parsed<T> => ({ value });
const bad = <T>(error: string): Parsed<T> => ({ error });

function token<T>(parse: (s: string) => Parsed<T>) {
  return z.string().transform((s, ctx): T => {
    const r = parse(s);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: `${r.error}, got ${quote(s)}`, input: s });
      return z.NEVER;
    }
    return r.value;
  });
}

function uint(s: string, min: number, max: number, what: string): Parsed<number> {
  const msg = `expected ${what} (an integer ${min}-${max})`;
  if (!/^\d{1,16}$/.test(s)) return bad(msg);
  const n = Number(s);
  return n >= min && n <= max ? ok(n) : bad(msg);
}

const PRINTABLE_NAME = /^[\x21-\x7e]{1,64}$/;

function plainName(s: string, what: string): Parsed<string> {
  return PRINTABLE_NAME.test(s) && !/["\\]/.test(s)
    ? ok(s) : bad(`expected ${what}: 1-64 printable ASCII characters without " or \\`);
}

function printable(s: string, what: string, maxLen = 256): Parsed<string> {
  return s.length <= maxLen && /^[\x21-\x7e]+$/.test(s)
    ? ok(s) : bad(`expected ${what}: 1-${maxLen} printable ASCII characters`);
}

function choice<T extends string>(s: string, options: readonly T[], what: string): Parsed<T> {
  const found = options.find((o) => o.toLowerCase() === s.toLowerCase());
  return found !== undefined ? ok(found) : bad(`expected ${what}: ${options.join(' or ')}`);
}

function ipAddress(s: string): Parsed<string> {
  return isIP(s) !== 0 ? ok(s.toLowerCase()) : bad('expected an IPv4 or IPv6 address');
}

function specificAddress(s: string): Parsed<string> {
  if (isIP(s) === 0) return bad('expected an IPv4 or IPv6 address');
  return isWildcard(s) ? bad('expected a specific address, not a wildcard such as 0.0.0.0 or ::') : ok(s.toLowerCase());
}

function portRange(s: string): Parsed<PortRange> {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(s);
  const msg = 'expected a port range first-last (ports 1-65535, first <= last)';
  if (m === null) return bad(msg);
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first < 1 || last > 65535 || first > last) return bad(msg);
  return ok({ first, last });
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

function byteSize(s: string): Parsed<number> {
  const m = /^(\d{1,16})([a-z]{0,3})$/i.exec(s);
  const msg = 'expected a size in bytes >= 1, optionally with a binary suffix K, KiB, M, MiB, G or GiB (e.g. 100M)';
  const unit = m === null ? undefined : SIZE_UNITS[m[2].toLowerCase()];
  if (m === null || unit === undefined) return bad(msg);
  const n = Number(m[1]) * unit;
  return n >= 1 && Number.isSafeInteger(n) ? ok(n) : bad(msg);
}

function statusListen(s: string): Parsed<{ address: string; port: number } | null> {
  if (s.toLowerCase() === 'off') return ok(null);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  const msg = 'expected `off`, IPv4:port or [IPv6]:port (port 0-65535, 0 = any free port)';
  if (m === null) return bad(msg);
  const address = m[1] ?? m[2];
  const family = isIP(address);
  if (family === 0 || (m[1] !== undefined) !== (family === 6)) return bad(msg);
  const port = Number(m[3]);
  return port <= 65535 ? ok({ address: address.toLowerCase(), port }) : bad(msg);
}

const HEX32 = /^[0-9a-f]{32}$/i;
const HEX64 = /^[0-9a-f]{64}$/i;

function sipSecret(s: string): Parsed<Omit<SipUser, 'name'>> {
  const lower = s.toLowerCase();
  if (lower.startsWith('ha1-sha256:')) {
    const hex = s.slice('ha1-sha256:'.length);
    return HEX64.test(hex) ? ok({ ha1Sha256: hex.toLowerCase() }) : bad('expected HA1-SHA256: followed by 64 hex digits');
  }
  if (lower.startsWith('ha1:')) {
    const hex = s.slice('ha1:'.length);
    return HEX32.test(hex) ? ok({ ha1Md5: hex.toLowerCase() }) : bad('expected HA1: followed by 32 hex digits');
  }
  const r = printable(s, 'a secret (plain, HA1:<32 hex> or HA1-SHA256:<64 hex>)');
  return 'error' in r ? r : ok({ password: s });
}

function sipUserName(s: string): Parsed<string> {
  return PRINTABLE_NAME.test(s) && !/["\\:]/.test(s)
    ? ok(s) : bad('expected a user name: 1-64 printable ASCII characters without " \\ or :');
}

const CODEC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

function codecName(s: string): Parsed<string> {
  return CODEC_NAME.test(s) ? ok(s) : bad('expected a codec name (letters, digits, . _ -, e.g. PCMU or telephone-event)');
}

// ---------------------------------------------------------------------------
// Arguments of one line.

function countText(n: number): string {
  return n === 0 ? 'no arguments' : n === 1 ? '1 argument' : `${n} arguments`;
}

/** Checks the argument count first (one issue, nothing else checked), then hands the array to `inner`. */
function args<T extends z.ZodType<unknown, string[]>>(min: number, max: number, what: string, inner: T) {
  return z.array(z.string())
    .superRefine((a, ctx) => {
      if (a.length < min || a.length > max) ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${countText(a.length)}`, input: a });
    })
    .pipe(inner);
}

function one<T>(what: string, parse: (s: string) => Parsed<T>) {
  return args(1, 1, `one argument: ${what}`, z.tuple([token(parse)]).transform(([v]) => v));
}

/** One or more values on one line; the same value twice (case-insensitively) is an error. */
function list<T extends string>(what: string, parse: (s: string) => Parsed<T>) {
  return args(1, 64, `one or more of: ${what}`, z.array(token(parse)).superRefine((values, ctx) => {
    const seen = new Set<string>();
    values.forEach((v, i) => {
      const key = v.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `expected each value once, got ${quote(v)} twice`, path: [i], input: v });
      seen.add(key);
    });
  }));
}

const port = (what = 'a port') => one(`${what} 1-65535`, (s) => uint(s, 1, 65535, what));
/** A port whose +1 is used too (RTCP). */
const portPair = (what: string) => one(`${what} 1-65534 (RTCP uses port+1)`, (s) => uint(s, 1, 65534, what));

/** `name secret` — SIP_USER lines and SIP_USERS_FILE lines alike. */
export const sipUserArgs = args(2, 2, 'two arguments: name secret (secret plain, HA1:<32 hex> or HA1-SHA256:<64 hex>)',
  z.tuple([token(sipUserName), token(sipSecret)]).transform(([name, secret]): SipUser => ({ name, ...secret })));

const peerArgs = args(2, 3, 'peer-address rtp-relay-port [secret]',
  z.tuple([
    token(specificAddress),
    token((s) => uint(s, 1, 65534, 'an RTP relay port (RTCP relay uses port+1)')),
  ], token((s) => printable(s, 'a secret'))));  // the rest: at most one secret (count checked by args)

const networks = args(1, 1024, '`all` or one or more network/prefix', z.array(token((s): Parsed<readonly Cidr[]> => {
  const r = parseNetwork(s);
  return typeof r === 'string' ? bad(r) : ok(r);
})));

// ---------------------------------------------------------------------------
// The keywords, in the order of SPEC §3.

const keywordShape = {
  REFLECTOR_ID: one('a name', (s) => plainName(s, 'a reflector name')),
  LISTEN_ADDRESS: one('an IPv4 or IPv6 address', ipAddress),
  PUBLIC_ADDRESS: one('a specific IPv4 or IPv6 address', specificAddress),
  SIP_PORT: port('a SIP port'),
  SIP_TRANSPORTS: list<SipTransport>('udp tcp tls', (s) => choice(s, ['udp', 'tcp', 'tls'] as const, 'a SIP transport')),
  SIP_REALM: one('a realm', (s) => plainName(s, 'a digest realm')),
  SIP_AUTH: one('on or off', (s) => choice(s, ['on', 'off'] as const, 'a switch')),
  SIP_DIGEST_ALGORITHMS: list<DigestAlgorithm>('MD5 SHA-256', (s) => choice(s, ['MD5', 'SHA-256'] as const, 'a digest algorithm')),
  SIP_USER: z.array(sipUserArgs),
  SIP_USERS_FILE: one('a file name', (s) => ok(s)),
  SIP_TLS_PORT: port('a SIP over TLS port'),
  TLS_CERT: one('a PEM certificate file', (s) => ok(s)),
  TLS_KEY: one('a PEM private key file', (s) => ok(s)),
  SRTP: one('off, optional or required', (s) => choice<SrtpPolicy>(s, ['off', 'optional', 'required'], 'an SRTP policy')),
  HOSTS_ALLOW: z.array(networks),
  HOSTS_DENY: z.array(networks),
  AUDIO_PORT: portPair('an audio RTP port'),
  VIDEO_PORT: portPair('a video RTP port'),
  KEEPALIVE_PORTS: one('4 consecutive ports first-last', portRange).superRefine((r, ctx) => {
    if (r.last !== r.first + 3) ctx.addIssue({ code: 'custom', message: `expected 4 consecutive ports first-last (last = first+3), got ${r.first}-${r.last}`, input: r });
  }),
  CHECKIP_PORT: port('a TCP port'),
  FILE_TRANSFER_PORT: port('a TCP port'),
  APPSHARE_SERVER_PORTS: one('a port range first-last', portRange),
  APPSHARE_CLIENT_PORTS: one('a port range first-last', portRange),
  REFLECTOR_INTERCONNECTION: z.array(peerArgs),
  ICE: one('on or off', (s) => choice(s, ['on', 'off'] as const, 'a switch')),
  MEDIA_WORKERS: one('`auto` or a count 1-64', (s): Parsed<MediaWorkers> => (s.toLowerCase() === 'auto' ? ok('auto') : uint(s, 1, MAX_MEDIA_WORKERS, 'a count of media threads'))),
  INTERCONNECTION_SECRET: one('a secret', (s) => printable(s, 'a secret')),
  INACTIVITY_TIMEOUT: one('seconds', (s) => uint(s, 1, 86400, 'seconds')),
  DRAIN_TIMEOUT: one('seconds', (s) => uint(s, 0, 86400, 'seconds')),
  MAX_SESSIONS: one('a count', (s) => uint(s, 1, 1_000_000, 'a count')),
  MAX_PARTICIPANTS: one('a count', (s) => uint(s, 1, 1_000_000, 'a count')),
  MAX_PARTICIPANTS_PER_SESSION: one('a count', (s) => uint(s, 1, 1_000_000, 'a count')),
  AUDIO_MODE: one('reflect or mix', (s) => choice<AudioMode>(s, ['reflect', 'mix'], 'an audio mode')),
  AUDIO_CODECS: list('codec names', codecName),
  VIDEO_CODECS: list('codec names', codecName),
  FILE_SPOOL_DIR: one('a directory', (s) => ok(s)),
  FILE_MAX_BYTES: one('a size', byteSize),
  FILE_TTL: one('seconds', (s) => uint(s, 1, 30 * 86400, 'seconds')),
  STATUS_LISTEN: one('address:port or off', statusListen),
  ADMIN_TOKEN: one('a token', (s) => printable(s, 'a bearer token')),
  LOG_LEVEL: one('error, warn, info or debug', (s) => choice<LogLevel>(s, ['error', 'warn', 'info', 'debug'], 'a log level')),
};

export type Keyword = keyof typeof keywordShape;

/** Every keyword of SPEC §3, in its order. */
export const CONFIG_KEYWORDS: readonly Keyword[] = Object.freeze(Object.keys(keywordShape) as Keyword[]);

/** Keywords that may appear on several lines (SPEC §3 "(R)"). */
export const REPEATABLE_KEYWORDS: ReadonlySet<Keyword> = new Set<Keyword>(['SIP_USER', 'HOSTS_ALLOW', 'HOSTS_DENY', 'REFLECTOR_INTERCONNECTION']);

export function isKeyword(word: string): word is Keyword {
  return Object.hasOwn(keywordShape, word);
}

type Shape = typeof keywordShape;
type KeywordFields = { [K in Keyword]: z.ZodOptional<Shape[K]> };

const optionalShape = Object.fromEntries(
  CONFIG_KEYWORDS.map((k) => [k, keywordShape[k].optional()]),
) as KeywordFields;

/** A path relative to the config file's directory; absolute paths are kept. */
export function resolveConfigPath(baseDir: string, path: string): string {
  return resolve(baseDir, path);
}

// ---------------------------------------------------------------------------
// Cross-keyword rules.

type Proto = 'UDP' | 'TCP';
interface PortClaim {
  readonly proto: Proto;
  readonly first: number;
  readonly last: number;
  /** Claims with the same role may share ports (several peers on one relay port). */
  readonly role: string;
  readonly path: readonly (string | number)[];
  /** Whether the keyword behind the claim is written in the file (issues go there). */
  readonly given: boolean;
}

/** Reports ports that two sockets would need at once; the work is bounded by the ports claimed (at most 2·65536 per range). */
function checkPortClaims(claims: readonly PortClaim[], ctx: z.RefinementCtx): void {
  const owners: Record<Proto, Map<number, PortClaim>> = { UDP: new Map(), TCP: new Map() };
  // Built-in defaults first, so the issue lands on the keyword the user wrote.
  const ordered = [...claims.filter((c) => !c.given), ...claims.filter((c) => c.given)];
  // One issue per line: an RTP/RTCP pair that collides twice is one mistake.
  const reported = new Set<string>();
  for (const c of ordered) {
    const owner = owners[c.proto];
    const where = c.path.join('/');
    for (let p = c.first; p <= c.last; p++) {
      const other = owner.get(p);
      if (other !== undefined && other.role !== c.role && !reported.has(where)) {
        reported.add(where);
        ctx.addIssue({
          code: 'custom',
          path: [...c.path],
          message: `expected ${c.proto} ports no other socket uses, but ${c.proto} port ${p} is both ${c.role} and ${other.role}`,
          input: p,
        });
        break;
      }
      owner.set(p, c);
    }
  }
}

function sameOrWildcard(a: string, b: string): boolean {
  if (isWildcard(a) || isWildcard(b)) return true;
  const x = addressBytes(a);
  const y = addressBytes(b);
  return x !== null && y !== null && x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Recursively freezes plain objects and arrays. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * `defaultConfig()`, or the reason it failed: it lists the host's interfaces for the PUBLIC_ADDRESS
 * default, which throws where netlink sockets are forbidden (systemd RestrictAddressFamilies= without
 * AF_NETLINK). Parsing must report that, not throw.
 */
export function builtInDefaults(): Config | string {
  try {
    return defaultConfig();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return `expected the built-in defaults, but listing the host's network interfaces failed (${reason}); allow AF_NETLINK sockets (systemd RestrictAddressFamilies=)`;
  }
}

// ---------------------------------------------------------------------------
// The schema.

export const configSchema = z.strictObject({
  ...optionalShape,
  /** The `name secret` lines of SIP_USERS_FILE, read by the loader. */
  usersFileEntries: z.array(sipUserArgs).optional(),
  /** Directory relative FILE_SPOOL_DIR / SIP_USERS_FILE paths are resolved against. */
  baseDir: z.string(),
  source: z.string().optional(),
}).transform((v, ctx): Config => {
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message, input: undefined });
  };
  const d = builtInDefaults();
  if (typeof d === 'string') {
    issue([], d);
    return z.NEVER;
  }

  const reflectorId = v.REFLECTOR_ID ?? d.reflectorId;
  const listenAddress = v.LISTEN_ADDRESS ?? d.listenAddress;
  const publicAddress = v.PUBLIC_ADDRESS ?? defaultPublicAddress(listenAddress);
  const sipAuth = v.SIP_AUTH === undefined ? d.sipAuth : v.SIP_AUTH === 'on';
  const sipDigestAlgorithms = v.SIP_DIGEST_ALGORITHMS ?? d.sipDigestAlgorithms;
  // SPEC §3: udp tcp, plus tls when a certificate is configured.
  const sipTransports = v.SIP_TRANSPORTS ?? (v.TLS_CERT !== undefined ? [...d.sipTransports, 'tls' as const] : d.sipTransports);
  const sipTlsPort = v.SIP_TLS_PORT ?? d.sipTlsPort;
  if (v.SIP_TRANSPORTS !== undefined && sipTransports.includes('tls') && (v.TLS_CERT === undefined || v.TLS_KEY === undefined)) {
    issue(['SIP_TRANSPORTS'], 'expected TLS_CERT and TLS_KEY lines when SIP_TRANSPORTS includes tls');
  }
  if (v.TLS_CERT !== undefined && v.TLS_KEY === undefined) issue(['TLS_CERT'], 'expected a TLS_KEY line too (the private key of TLS_CERT)');
  if (v.TLS_KEY !== undefined && v.TLS_CERT === undefined) issue(['TLS_KEY'], 'expected a TLS_CERT line too (the certificate of TLS_KEY)');
  const interconnectionSecret = v.INTERCONNECTION_SECRET ?? d.interconnectionSecret;

  // Users: SIP_USER lines, then SIP_USERS_FILE lines; one name once; the secret form must fit an offered algorithm.
  const tagged: { user: SipUser; path: (string | number)[] }[] = [
    ...(v.SIP_USER ?? []).map((user, i) => ({ user, path: ['SIP_USER', i] })),
    ...(v.usersFileEntries ?? []).map((user, i) => ({ user, path: ['usersFileEntries', i] })),
  ];
  const names = new Set<string>();
  for (const { user, path } of tagged) {
    if (names.has(user.name)) issue(path, `expected each user name once (SIP_USER lines and SIP_USERS_FILE together), got ${quote(user.name)} again`);
    names.add(user.name);
    if (user.ha1Md5 !== undefined && !sipDigestAlgorithms.includes('MD5')) {
      issue(path, 'expected MD5 in SIP_DIGEST_ALGORITHMS for an HA1: (MD5) secret; this user could never authenticate');
    }
    if (user.ha1Sha256 !== undefined && !sipDigestAlgorithms.includes('SHA-256')) {
      issue(path, 'expected SHA-256 in SIP_DIGEST_ALGORITHMS for an HA1-SHA256: secret; this user could never authenticate');
    }
  }
  if (sipAuth && tagged.length === 0) {
    // With an unreadable users file the loader has already reported it; say nothing more then.
    if (v.SIP_USERS_FILE === undefined) issue(['SIP_AUTH'], 'expected at least one SIP_USER line or a SIP_USERS_FILE when SIP_AUTH is on');
    else if (v.usersFileEntries !== undefined) issue(['SIP_USERS_FILE'], 'expected at least one user in SIP_USERS_FILE (or a SIP_USER line) when SIP_AUTH is on');
  }

  // Peers: specific, distinct, not ourselves, reachable from the listen address's family.
  const listenFamily = isWildcard(listenAddress) ? (listenAddress.includes(':') ? 0 : 4) : isIP(listenAddress);
  const peerAddresses = new Set<string>();
  const peers: PeerConfig[] = (v.REFLECTOR_INTERCONNECTION ?? []).map(([address, rtpRelayPort, ownSecret], i) => {
    const path = ['REFLECTOR_INTERCONNECTION', i];
    const family = isIP(address);
    if (listenFamily !== 0 && family !== listenFamily) {
      issue(path, `expected an IPv${listenFamily} peer address like LISTEN_ADDRESS ${listenAddress}, got ${address}`);
    }
    const bytes = addressBytes(address);
    if (bytes !== null) {
      const key = Buffer.from(bytes).toString('hex');
      if (peerAddresses.has(key)) issue(path, `expected each peer address once, got ${address} again`);
      peerAddresses.add(key);
    }
    if ((!isWildcard(listenAddress) && sameOrWildcard(address, listenAddress)) || sameOrWildcard(address, publicAddress)) {
      issue(path, `expected another reflector's address, got this reflector's own ${address}`);
    }
    const secret = ownSecret ?? interconnectionSecret;
    return secret === undefined ? { address, rtpRelayPort } : { address, rtpRelayPort, secret };
  });

  const sipPort = v.SIP_PORT ?? d.sipPort;
  const audioPort = v.AUDIO_PORT ?? d.audioPort;
  const videoPort = v.VIDEO_PORT ?? d.videoPort;
  const keepalivePorts = v.KEEPALIVE_PORTS ?? d.keepalivePorts;
  const checkipPort = v.CHECKIP_PORT ?? d.checkipPort;
  const fileTransferPort = v.FILE_TRANSFER_PORT ?? d.fileTransferPort;
  const appshareServerPorts = v.APPSHARE_SERVER_PORTS ?? d.appshareServerPorts;
  const appshareClientPorts = v.APPSHARE_CLIENT_PORTS ?? d.appshareClientPorts;
  const statusListen = v.STATUS_LISTEN === null ? undefined : v.STATUS_LISTEN ?? d.statusListen;

  const claim = (proto: Proto, first: number, last: number, role: string, keyword: Keyword, index?: number): PortClaim => ({
    proto, first, last, role, given: v[keyword] !== undefined, path: index === undefined ? [keyword] : [keyword, index],
  });
  const claims: PortClaim[] = [];
  if (sipTransports.includes('udp')) claims.push(claim('UDP', sipPort, sipPort, 'the SIP port (SIP_PORT)', 'SIP_PORT'));
  if (sipTransports.includes('tcp')) claims.push(claim('TCP', sipPort, sipPort, 'the SIP port (SIP_PORT)', 'SIP_PORT'));
  if (sipTransports.includes('tls')) claims.push(claim('TCP', sipTlsPort, sipTlsPort, 'the SIP over TLS port (SIP_TLS_PORT)', 'SIP_TLS_PORT'));
  claims.push(
    claim('UDP', audioPort, audioPort, 'the audio RTP port (AUDIO_PORT)', 'AUDIO_PORT'),
    claim('UDP', audioPort + 1, audioPort + 1, 'the audio RTCP port (AUDIO_PORT+1)', 'AUDIO_PORT'),
    claim('UDP', videoPort, videoPort, 'the video RTP port (VIDEO_PORT)', 'VIDEO_PORT'),
    claim('UDP', videoPort + 1, videoPort + 1, 'the video RTCP port (VIDEO_PORT+1)', 'VIDEO_PORT'),
    claim('UDP', keepalivePorts.first, keepalivePorts.last, 'a keep-alive port (KEEPALIVE_PORTS)', 'KEEPALIVE_PORTS'),
    claim('TCP', checkipPort, checkipPort, 'the check-IP port (CHECKIP_PORT)', 'CHECKIP_PORT'),
    claim('TCP', fileTransferPort, fileTransferPort, 'the file transfer port (FILE_TRANSFER_PORT)', 'FILE_TRANSFER_PORT'),
    claim('TCP', appshareServerPorts.first, appshareServerPorts.last, 'an app-sharing server port (APPSHARE_SERVER_PORTS)', 'APPSHARE_SERVER_PORTS'),
    claim('TCP', appshareClientPorts.first, appshareClientPorts.last, 'an app-sharing client port (APPSHARE_CLIENT_PORTS)', 'APPSHARE_CLIENT_PORTS'),
  );
  peers.forEach((p, i) => {
    claims.push(
      claim('UDP', p.rtpRelayPort, p.rtpRelayPort, 'an RTP relay port (REFLECTOR_INTERCONNECTION)', 'REFLECTOR_INTERCONNECTION', i),
      claim('UDP', p.rtpRelayPort + 1, p.rtpRelayPort + 1, 'an RTCP relay port (REFLECTOR_INTERCONNECTION port+1)', 'REFLECTOR_INTERCONNECTION', i),
    );
  });
  if (statusListen !== undefined && statusListen.port !== 0 && sameOrWildcard(statusListen.address, listenAddress)) {
    claims.push(claim('TCP', statusListen.port, statusListen.port, 'the status port (STATUS_LISTEN)', 'STATUS_LISTEN'));
  }
  checkPortClaims(claims, ctx);

  const flat = (lines: readonly (readonly (readonly Cidr[])[])[] | undefined): Cidr[] => (lines ?? []).flat(2);
  const config: Config = {
    ...(v.source === undefined ? {} : { source: v.source }),
    reflectorId,
    listenAddress,
    publicAddress,
    sipPort,
    sipTransports,
    sipTlsPort,
    ...(v.TLS_CERT === undefined ? {} : { tlsCert: resolveConfigPath(v.baseDir, v.TLS_CERT) }),
    ...(v.TLS_KEY === undefined ? {} : { tlsKey: resolveConfigPath(v.baseDir, v.TLS_KEY) }),
    srtp: v.SRTP ?? d.srtp,
    sipRealm: v.SIP_REALM ?? reflectorId,
    sipAuth,
    sipDigestAlgorithms,
    sipUsers: tagged.map((t) => t.user),
    ...(v.SIP_USERS_FILE === undefined ? {} : { sipUsersFile: resolveConfigPath(v.baseDir, v.SIP_USERS_FILE) }),
    hostsAllow: v.HOSTS_ALLOW === undefined ? d.hostsAllow : flat(v.HOSTS_ALLOW),
    hostsDeny: v.HOSTS_DENY === undefined ? d.hostsDeny : flat(v.HOSTS_DENY),
    audioPort,
    videoPort,
    keepalivePorts,
    checkipPort,
    fileTransferPort,
    appshareServerPorts,
    appshareClientPorts,
    peers,
    ...(interconnectionSecret === undefined ? {} : { interconnectionSecret }),
    ice: v.ICE === undefined ? d.ice : v.ICE === 'on',
    mediaWorkers: v.MEDIA_WORKERS ?? d.mediaWorkers,
    inactivityTimeoutS: v.INACTIVITY_TIMEOUT ?? d.inactivityTimeoutS,
    drainTimeoutS: v.DRAIN_TIMEOUT ?? d.drainTimeoutS,
    maxSessions: v.MAX_SESSIONS ?? d.maxSessions,
    maxParticipants: v.MAX_PARTICIPANTS ?? d.maxParticipants,
    maxParticipantsPerSession: v.MAX_PARTICIPANTS_PER_SESSION ?? d.maxParticipantsPerSession,
    audioMode: v.AUDIO_MODE ?? d.audioMode,
    audioCodecs: v.AUDIO_CODECS ?? d.audioCodecs,
    videoCodecs: v.VIDEO_CODECS ?? d.videoCodecs,
    fileSpoolDir: v.FILE_SPOOL_DIR === undefined ? d.fileSpoolDir : resolveConfigPath(v.baseDir, v.FILE_SPOOL_DIR),
    fileMaxBytes: v.FILE_MAX_BYTES ?? d.fileMaxBytes,
    fileTtlS: v.FILE_TTL ?? d.fileTtlS,
    ...(statusListen === undefined ? {} : { statusListen }),
    ...(v.ADMIN_TOKEN === undefined ? {} : { adminToken: v.ADMIN_TOKEN }),
    logLevel: v.LOG_LEVEL ?? d.logLevel,
    reflectorIo: d.reflectorIo,
  };
  return deepFreeze(config);
});

/** What the loader hands to `configSchema.safeParse`. */
export type ConfigSchemaInput = z.input<typeof configSchema>;

// Compile-time proof that the schema produces exactly `Config` (both directions).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const schemaMakesConfig: Equal<z.output<typeof configSchema>, Config> = true;
void schemaMakesConfig;
