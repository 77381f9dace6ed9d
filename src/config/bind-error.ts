/**
 * A start-up failure to bind or listen (EADDRINUSE, EADDRNOTAVAIL, EACCES) explained in terms of the
 * configuration: which keyword owns the port (or the address) and what to change. The port comes from
 * the error (`port`, or `:PORT` in its message), the owner from the running configuration.
 */
import type { Config } from './types.js';

const BIND_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES']);

/** Keyword (and what it is) that configures `port`, or null. */
export function portOwner(config: Config, port: number): string | null {
  const c = config;
  if (port === c.sipPort) return 'SIP_PORT (the SIP port)';
  if (port === c.audioPort || port === c.audioPort + 1) return 'AUDIO_PORT (audio RTP at AUDIO_PORT, RTCP at AUDIO_PORT+1)';
  if (port === c.videoPort || port === c.videoPort + 1) return 'VIDEO_PORT (video RTP at VIDEO_PORT, RTCP at VIDEO_PORT+1)';
  if (port >= c.keepalivePorts.first && port <= c.keepalivePorts.last) return 'KEEPALIVE_PORTS (the keep-alive ports)';
  if (port === c.checkipPort) return 'CHECKIP_PORT (the check-IP port)';
  if (port === c.fileTransferPort) return 'FILE_TRANSFER_PORT (the file transfer port)';
  if (c.statusListen !== undefined && port === c.statusListen.port) return 'STATUS_LISTEN (the status and metrics address:port; "off" disables it)';
  if (c.peers.some((p) => port === p.rtpRelayPort || port === p.rtpRelayPort + 1)) return 'REFLECTOR_INTERCONNECTION (the relay port of a peer line; RTCP at port+1)';
  if (port >= c.appshareServerPorts.first && port <= c.appshareServerPorts.last) return 'APPSHARE_SERVER_PORTS';
  if (port >= c.appshareClientPorts.first && port <= c.appshareClientPorts.last) return 'APPSHARE_CLIENT_PORTS';
  return null;
}

/** A one-line explanation for an operator, or null when `err` is not a bind error. */
export function explainBindError(err: unknown, config: Config): string | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  const code = e.code ?? /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(e.message)?.[1];
  if (code === undefined || !BIND_CODES.has(code)) return null;
  const port = typeof e.port === 'number' ? e.port : Number(/:(\d{1,5})\b(?!.*:\d)/.exec(e.message)?.[1] ?? NaN);
  const address = typeof e.address === 'string' ? e.address : config.listenAddress;
  const where = Number.isInteger(port) ? `${address}:${port}` : address;
  const file = config.source ?? 'the configuration file';
  const owner = Number.isInteger(port) ? portOwner(config, port) : null;
  if (code === 'EADDRNOTAVAIL') {
    return `cannot bind ${where}: the address is not on this host (EADDRNOTAVAIL); change LISTEN_ADDRESS${owner !== null && owner.startsWith('STATUS_LISTEN') ? ' or STATUS_LISTEN' : ''} in ${file}`;
  }
  const what = code === 'EADDRINUSE' ? 'is already in use by another process (EADDRINUSE)' : 'needs privileges this process lacks (EACCES: ports below 1024)';
  const change = owner !== null ? `change ${owner} in ${file}` : `change the port in ${file}`;
  return `cannot bind ${where}: the port ${what}; ${change}, or stop the other process`;
}
