/**
 * Check-IP (SPEC §5): a TCP connection to CHECKIP_PORT receives the client's
 * IP address as the reflector sees it — textual, no port, IPv6 without
 * brackets, an IPv4-mapped IPv6 address as plain IPv4 — then `\n`, and is closed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { normalizeIp } from './ip-key.js';

/** A client that does not let us close within this bound is destroyed. */
const CHECKIP_LINGER_MS = 5000;

export class CheckIpServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #errors = 0;
  #closed = false;

  constructor() {
    this.#server = createServer({ allowHalfOpen: false }, (sock) => this.#onConnection(sock));
    this.#server.on('error', () => {
      this.#errors++;
    });
  }

  listen(address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.#server.off('listening', onListening);
        err.message = `cannot listen on TCP ${address}:${port} (check-ip): ${err.message}`;
        reject(err);
      };
      const onListening = (): void => {
        this.#server.off('error', onError);
        resolve();
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen({ host: address, port, exclusive: true });
    });
  }

  /** The bound port (useful when configured as 0). */
  port(): number {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  get errors(): number {
    return this.#errors;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
    });
  }

  #onConnection(sock: Socket): void {
    this.#sockets.add(sock);
    sock.on('error', () => {
      this.#errors++;
    });
    sock.on('close', () => {
      this.#sockets.delete(sock);
    });
    sock.setTimeout(CHECKIP_LINGER_MS, () => sock.destroy());
    const ip = normalizeIp(sock.remoteAddress ?? '');
    sock.end(`${ip}\n`);
  }
}
