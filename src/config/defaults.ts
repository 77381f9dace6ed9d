import { availableParallelism, hostname, networkInterfaces, tmpdir } from 'node:os';
import type { Config, MediaWorkers, ReflectorIo } from './types.js';

/** The first non-internal IPv4 address of this host, else 127.0.0.1 (SPEC §3 PUBLIC_ADDRESS). */
export function firstExternalIpv4(): string {
  let ifaces: ReturnType<typeof networkInterfaces>;
  try {
    // Throws where netlink sockets are forbidden (e.g. a sandbox without AF_NETLINK).
    ifaces = networkInterfaces();
  } catch {
    return '127.0.0.1';
  }
  for (const list of Object.values(ifaces)) {
    for (const ifc of list ?? []) {
      if (ifc.family === 'IPv4' && !ifc.internal) return ifc.address;
    }
  }
  return '127.0.0.1';
}

/** PUBLIC_ADDRESS default: LISTEN_ADDRESS when specific, else the first external IPv4. */
export function defaultPublicAddress(listenAddress: string): string {
  if (listenAddress !== '0.0.0.0' && listenAddress !== '::') return listenAddress;
  return firstExternalIpv4();
}

/** REFLECTOR_IO from the environment (the config module is the only code that reads it). */
export function reflectorIoFromEnv(value: string | undefined = process.env.REFLECTOR_IO): ReflectorIo {
  const v = (value ?? '').trim().toLowerCase();
  return v === 'mmsg' || v === 'dgram' ? v : 'auto';
}

/** The most MEDIA_WORKERS (as the addon's MAX_WORKERS). */
export const MAX_MEDIA_WORKERS = 64;

/**
 * The media threads to run: REFLECTOR_MEDIA_WORKERS from the environment when it is a count or
 * `auto` (the test suite runs once with 1 and once with 2), else the MEDIA_WORKERS keyword;
 * `auto` = one per core, at most MAX_MEDIA_WORKERS.
 */
export function effectiveMediaWorkers(keyword: MediaWorkers, env: string | undefined = process.env.REFLECTOR_MEDIA_WORKERS): number {
  const v = (env ?? '').trim().toLowerCase();
  let want: MediaWorkers = keyword;
  if (v === 'auto') want = 'auto';
  else if (/^[0-9]{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_MEDIA_WORKERS) want = Number(v);
  return want === 'auto' ? Math.min(MAX_MEDIA_WORKERS, Math.max(1, availableParallelism())) : want;
}

/** The built-in defaults of SPEC §3, so `npm start` runs with no file and no peers. */
export function defaultConfig(): Config {
  const reflectorId = hostname() || 'reflector';
  return {
    reflectorId,
    listenAddress: '0.0.0.0',
    publicAddress: defaultPublicAddress('0.0.0.0'),
    sipPort: 5060,
    sipTransports: ['udp', 'tcp'],
    sipTlsPort: 5061,
    srtp: 'optional',
    sipRealm: reflectorId,
    sipAuth: false,
    sipDigestAlgorithms: ['MD5'],
    sipUsers: [],
    hostsAllow: [],
    hostsDeny: [],
    audioPort: 5566,
    videoPort: 5568,
    keepalivePorts: { first: 5570, last: 5573 },
    checkipPort: 12340,
    fileTransferPort: 5565,
    appshareServerPorts: { first: 7000, last: 7100 },
    appshareClientPorts: { first: 6000, last: 6100 },
    peers: [],
    ice: true,
    mediaWorkers: 'auto',
    inactivityTimeoutS: 120,
    drainTimeoutS: 0,
    maxSessions: 1000,
    maxParticipants: 5000,
    maxParticipantsPerSession: 100,
    audioMode: 'reflect',
    audioCodecs: ['PCMU', 'PCMA', 'G722', 'opus', 'telephone-event'],
    videoCodecs: ['H264', 'VP8', 'VP9'],
    fileSpoolDir: tmpdir(),
    fileMaxBytes: 100 * 1024 * 1024,
    fileTtlS: 3600,
    statusListen: { address: '127.0.0.1', port: 8080 },
    logLevel: 'info',
    reflectorIo: reflectorIoFromEnv(),
  };
}
