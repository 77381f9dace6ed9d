/**
 * Binding one UDP socket of the core: family by address, large kernel
 * buffers, an 'error' listener from the start, and a promise that settles on
 * 'listening' or the bind error.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { LookupOneOptions } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { DgramSender, type PacketSender, type SendErrorCounter } from './packet-sender.js';

/**
 * SO_RCVBUF / SO_SNDBUF asked for on every media socket: 8 MiB, chosen so that the receive
 * queue rides out a stall of the single media thread (GC, a burst of SIP, the CPU taken by
 * another process) without dropping. The kernel books a queued datagram at its "truesize":
 * measured on loopback 832 bytes for a 172-byte audio packet and 2304 for a 1200-byte video
 * packet; it doubles the value asked for, so 8 MiB holds ≈ 20 000 audio packets (≈ 270 ms of
 * 75 000 in-packets/s, the 2-party relay load of 750 calls) or ≈ 7 000 video packets. Memory
 * is taken only while packets are queued. The batched I/O (native/mmsg.c) asks with
 * SO_RCVBUFFORCE/SO_SNDBUFFORCE first, which need CAP_NET_ADMIN (root) but are not capped; else,
 * and always on node:dgram, the kernel caps the value at net.core.rmem_max / wmem_max
 * (212 992 bytes on a stock kernel: raise them with sysctl, see docs/operations.md).
 */
export const MEDIA_SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

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
