import { hostname, networkInterfaces, tmpdir } from 'node:os';
import type { Config, ReflectorIo } from './types.js';

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

/** The built-in defaults of SPEC §3, so `npm start` runs with no file and no peers. */
export function defaultConfig(): Config {
  const reflectorId = hostname() || 'reflector';
  return {
    reflectorId,
    listenAddress: '0.0.0.0',
    publicAddress: defaultPublicAddress('0.0.0.0'),
    sipPort: 5060,
    sipTransports: ['udp', 'tcp'],
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
