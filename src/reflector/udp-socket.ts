/**
 * Binding one UDP socket of the core: family by address, large kernel
 * buffers, an 'error' listener from the start, and a promise that settles on
 * 'listening' or the bind error.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { LookupOneOptions } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { DgramSender, type PacketSender, type SendErrorCounter } from './packet-sender.js';

/** SO_RCVBUF / SO_SNDBUF asked for (the kernel caps them at rmem_max / wmem_max). */
export const MEDIA_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The sockets' address "lookup": the core only ever sends to literal IPs (latched
 * sources, SDP addresses checked to be literals), so it answers at once instead of
 * deferring every send through dns.lookup and a tick — and it never resolves a name.
 */
function literalLookup(
  hostname: string,
  _options: LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family === 0) {
    const err: NodeJS.ErrnoException = new Error(`not an IP address: ${hostname}`);
    err.code = 'ENOTFOUND';
    callback(err, '', 0);
    return;
  }
  callback(null, hostname, family);
}

export function udpTypeFor(address: string): 'udp4' | 'udp6' {
  return isIPv6(address) ? 'udp6' : 'udp4';
}

export type DatagramHandler = (msg: Buffer, rinfo: RemoteInfo) => void;

/**
 * One bound UDP socket of the core, whatever does the I/O: node:dgram (below) or
 * batched recvmmsg/sendmmsg (batched-udp.ts). Received datagrams go to the handler
 * given at bind time; everything sent from the socket goes through `sender`.
 */
export interface CoreUdpSocket {
  readonly sender: PacketSender;
  /** Idempotent. */
  close(): Promise<void>;
}

/** A CoreUdpSocket over node:dgram (REFLECTOR_IO=dgram, and the fallback). */
export async function bindDgramCoreSocket(
  address: string,
  port: number,
  onMessage: DatagramHandler,
  onError: (err: Error) => void,
  errors: SendErrorCounter,
): Promise<CoreUdpSocket> {
  const sock = await bindUdp(address, port, onMessage, onError);
  return { sender: new DgramSender(sock, errors), close: () => closeUdp(sock) };
}

export async function bindUdp(
  address: string,
  port: number,
  onMessage: (msg: Buffer, rinfo: RemoteInfo) => void,
  onError: (err: Error) => void,
): Promise<Socket> {
  const sock = createSocket({
    type: udpTypeFor(address),
    recvBufferSize: MEDIA_SOCKET_BUFFER_BYTES,
    sendBufferSize: MEDIA_SOCKET_BUFFER_BYTES,
    lookup: literalLookup,
  });
  sock.on('error', onError);
  sock.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    const onBindError = (err: Error): void => {
      sock.off('listening', onListening);
      try {
        sock.close();
      } catch {
        // already closed
      }
      // Name the socket in the error (main.ts prints it); the code (EADDRINUSE, …) is kept.
      err.message = `cannot bind UDP ${address}:${port}: ${err.message}`;
      reject(err);
    };
    const onListening = (): void => {
      sock.off('error', onBindError);
      resolve();
    };
    sock.once('error', onBindError);
    sock.once('listening', onListening);
    sock.bind({ address, port, exclusive: true });
  });
  return sock;
}

/** Closes a socket, tolerating one that is already closed. */
export function closeUdp(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
