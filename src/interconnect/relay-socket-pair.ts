/**
 * The UDP socket pair of one relay port (SPEC §6): RTP relay on `port`, RTCP
 * relay and control on `port + 1`, bound on LISTEN_ADDRESS and used both as
 * source and destination. Several peers with the same relay port share a pair;
 * a datagram is attributed to the peer whose address it comes from.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import type { Peer } from './peer.js';

/** Kernel receive buffer asked for (relay traffic aggregates many participants). */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

export type RelayDatagramHandler = (pair: RelaySocketPair, rtcp: boolean, msg: Buffer, rinfo: RemoteInfo) => void;

/** The textual forms under which `address` can appear as a source (rinfo.address). */
export function sourceForms(address: string): string[] {
  if (isIPv4(address)) return [address, `::ffff:${address}`];
  if (isIPv6(address)) return [canonicalIpv6(address)];
  return [address];
}

/** RFC 5952 text of an IPv6 address, as Node reports sources (via the WHATWG URL parser). */
export function canonicalIpv6(address: string): string {
  try {
    const host = new URL(`http://[${address}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

export class RelaySocketPair {
  readonly port: number;
  readonly rtp: Socket;
  readonly rtcp: Socket;
  readonly ipv6: boolean;
  /** Peers by source-address form. */
  readonly peers = new Map<string, Peer>();
  /** True between a successful bind and close: only then may anything be sent. */
  ready = false;
  #closed = false;

  constructor(listenAddress: string, port: number, onDatagram: RelayDatagramHandler, onError: (err: Error) => void) {
    this.port = port;
    this.ipv6 = isIPv6(listenAddress);
    const type = this.ipv6 ? 'udp6' : 'udp4';
    this.rtp = createSocket({ type });
    this.rtcp = createSocket({ type });
    this.rtp.on('message', (msg, rinfo) => onDatagram(this, false, msg, rinfo));
    this.rtcp.on('message', (msg, rinfo) => onDatagram(this, true, msg, rinfo));
    this.rtp.on('error', onError);
    this.rtcp.on('error', onError);
  }

  /** Binds both sockets; rejects (and closes both) if either port is taken. */
  async bind(listenAddress: string): Promise<void> {
    try {
      await Promise.all([bindSocket(this.rtp, this.port, listenAddress), bindSocket(this.rtcp, this.port + 1, listenAddress)]);
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.#closed) return;
    this.ready = true;
    for (const s of [this.rtp, this.rtcp]) {
      try {
        s.setRecvBufferSize(RECV_BUFFER_BYTES);
      } catch {
        // The kernel may cap it (net.core.rmem_max); the default still works.
      }
    }
  }

  /** The address to send to for `peer` from this pair (IPv4-mapped on a dual-stack socket). */
  sendAddressFor(peer: Peer): string {
    return this.ipv6 && peer.isIpv4 ? `::ffff:${peer.address}` : peer.address;
  }

  addPeer(peer: Peer): void {
    for (const form of sourceForms(peer.address)) this.peers.set(form, peer);
  }

  removePeer(peer: Peer): void {
    for (const form of sourceForms(peer.address)) {
      if (this.peers.get(form) === peer) this.peers.delete(form);
    }
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.ready = false;
    await Promise.all([closeSocket(this.rtp), closeSocket(this.rtcp)]);
  }
}

function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}
