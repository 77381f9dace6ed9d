/**
 * Helpers for the proxy tests: a deterministic byte stream, bounded waits,
 * raw TCP exchanges. Every wait clears its own timer.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Deterministic pseudo-random bytes (xorshift32), `total` bytes in `chunkSize` chunks. */
export function* patternChunks(total: number, chunkSize = 64 * 1024, seed = 0x12345678): Generator<Buffer> {
  let x = seed >>> 0 || 1;
  let left = total;
  while (left > 0) {
    const n = Math.min(chunkSize, left);
    const buf = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      buf.writeUInt32LE(x, i);
    }
    for (; i < n; i++) buf[i] = i & 0xff;
    left -= n;
    yield buf;
  }
}

export function patternBuffer(total: number, seed?: number): Buffer {
  return Buffer.concat([...patternChunks(total, 64 * 1024, seed)]);
}

export function patternSha256(total: number, seed?: number): string {
  const h = createHash('sha256');
  for (const c of patternChunks(total, 64 * 1024, seed)) h.update(c);
  return h.digest('hex');
}

/** Resolves `p`, or rejects after `ms` with `what` in the message; the timer is always cleared. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `check()` is true, polling on `setImmediate`/short timers, bounded by `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise<void>((r) => setTimeout(r, 10));
  }
}

export interface RawExchange {
  /** Everything the server sent until it closed. */
  readonly received: string;
  /** ms from connect to close. */
  readonly elapsedMs: number;
}

/** Connects, writes `send` (if any), and collects what comes back until the server closes. */
export function rawExchange(host: string, port: number, send: string | null, sockets: Set<Socket>, localAddress?: string): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = connect({ host, port, localAddress });
    sockets.add(s);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.once('connect', () => { if (send !== null) s.write(send); });
    s.once('close', (hadError) => {
      if (chunks.length === 0 && hadError && Date.now() - started < 5) reject(new Error('connect failed'));
      else resolve({ received: Buffer.concat(chunks).toString('latin1'), elapsedMs: Date.now() - started });
    });
  });
}
