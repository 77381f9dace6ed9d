/**
 * A pool of TCP port numbers from a configured range (APPSHARE_SERVER_PORTS,
 * APPSHARE_CLIENT_PORTS, SPEC §3), and listening on the next free one.
 */
import { createServer, type Server, type ServerOpts, type Socket } from 'node:net';
import type { PortRange } from '../config/types.js';

export class PortPool {
  #first: number;
  #last: number;
  #next: number;
  readonly #inUse = new Set<number>();

  constructor(range: PortRange) {
    this.#first = range.first;
    this.#last = range.last;
    this.#next = range.first;
  }

  /** A new range (SIGHUP); ports in use stay in use until released. */
  setRange(range: PortRange): void {
    this.#first = range.first;
    this.#last = range.last;
    if (this.#next < this.#first || this.#next > this.#last) this.#next = this.#first;
  }

  get size(): number {
    return this.#last - this.#first + 1;
  }

  get inUse(): number {
    return this.#inUse.size;
  }

  /** The next free port, round robin, or null when every port of the range is taken. */
  take(): number | null {
    const n = this.size;
    for (let i = 0; i < n; i++) {
      const port = this.#next;
      this.#next = port >= this.#last ? this.#first : port + 1;
      if (!this.#inUse.has(port)) {
        this.#inUse.add(port);
        return port;
      }
    }
    return null;
  }

  release(port: number): void {
    this.#inUse.delete(port);
  }
}

export interface PooledListener {
  readonly server: Server;
  readonly port: number;
}

function listenOn(server: Server, host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      resolve(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(null);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

/**
 * Listens on a port taken from `pool`. A port some other program holds
 * (EADDRINUSE) is skipped; null when no port of the range could be bound.
 * The caller releases the port to the pool after closing the server.
 */
export async function listenFromPool(
  pool: PortPool,
  host: string,
  onConnection: (socket: Socket) => void,
  options: ServerOpts = {},
): Promise<PooledListener | null> {
  const attempts = pool.size;
  for (let i = 0; i < attempts; i++) {
    const port = pool.take();
    if (port === null) return null;
    const server = createServer(options, onConnection);
    const err = await listenOn(server, host, port);
    if (err === null) {
      server.on('error', () => undefined);
      return { server, port };
    }
    pool.release(port);
    if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
  }
  return null;
}
