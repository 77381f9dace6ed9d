/**
 * UDP sockets for tests: bind on a loopback address, collect what arrives,
 * await the next datagram with a bounded wait whose timer is always cleared,
 * close. Never sleeps.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface Received {
  readonly msg: Buffer;
  readonly rinfo: RemoteInfo;
}

export class TestUdp {
  readonly socket: Socket;
  /** Every datagram received, in order (also those already taken by nextMessage). */
  readonly all: Received[] = [];
  readonly #queue: Received[] = [];
  #waiter: ((r: Received) => void) | null = null;
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => undefined);
    socket.on('message', (msg, rinfo) => {
      const r = { msg, rinfo };
      this.all.push(r);
      const w = this.#waiter;
      if (w !== null) {
        this.#waiter = null;
        w(r);
      } else {
        this.#queue.push(r);
      }
    });
  }

  static async bind(address: string, port = 0): Promise<TestUdp> {
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new TestUdp(socket);
  }

  get address(): string {
    return this.socket.address().address;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Datagrams received and not yet taken. */
  pending(): readonly Received[] {
    return this.#queue;
  }

  send(buf: Uint8Array, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(buf, port, address, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The next datagram, waiting at most timeoutMs. */
  nextMessage(timeoutMs: number): Promise<Received> {
    return nextMessage(this, timeoutMs);
  }

  /** Waits (bounded) for the first datagram that satisfies `pred`, discarding the others before it. */
  async nextMatching(pred: (r: Received) => boolean, timeoutMs: number, maxSkipped = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i <= maxSkipped; i++) {
      const r = await this.nextMessage(Math.max(1, deadline - Date.now()));
      if (pred(r)) return r;
    }
    throw new Error(`no matching datagram among ${maxSkipped + 1}`);
  }

  /** @internal */
  take(timeoutMs: number): Promise<Received> {
    const r = this.#queue.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.#closed) return Promise.reject(new Error('socket closed'));
    if (this.#waiter !== null) return Promise.reject(new Error('nextMessage already pending'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error(`no datagram on ${this.address}:${this.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (got) => {
        clearTimeout(timer);
        resolve(got);
      };
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Binds a UDP socket on `address` (port 0 = any). */
export function bindUdp(address: string, port = 0): Promise<TestUdp> {
  return TestUdp.bind(address, port);
}

/** The next datagram of `sock`, waiting at most timeoutMs (the timer is cleared either way). */
export function nextMessage(sock: TestUdp, timeoutMs: number): Promise<Received> {
  return sock.take(timeoutMs);
}

/** Closes every socket given, ignoring those already closed. */
export async function closeAll(socks: readonly (TestUdp | null | undefined)[]): Promise<void> {
  await Promise.all(socks.map((s) => (s === null || s === undefined ? undefined : s.close())));
}

/** Resolves with `p`, or rejects after timeoutMs (timer cleared either way). */
export function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
