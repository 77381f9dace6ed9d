/**
 * SIP over TLS (RFC 3261 §26, SPEC §15): a node:tls listener on SIP_TLS_PORT,
 * TLS 1.2 or 1.3, whose decrypted connections are framed exactly like TCP
 * (the transport layer gets each secure socket). Certificate and key are
 * swapped with setSecureContext on SIGHUP: new handshakes use the new ones,
 * open connections (and the calls on them) are not touched.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { TlsCredentials } from '../../config/tls-files.js';
import type { DropCounter } from '../../runtime/drop-counter.js';
import type { Logger } from '../../runtime/logger.js';

/** A handshake must complete within this time (slow-loris bound). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

function contextOptions(c: TlsCredentials): tls.SecureContextOptions {
  return { cert: c.cert, key: c.key, minVersion: 'TLSv1.2' };
}

export class SipTlsListener {
  readonly #log: Logger;
  readonly #drops: DropCounter;
  readonly #onSecure: (socket: net.Socket) => void;
  #server: tls.Server | null = null;
  #port = 0;

  constructor(log: Logger, drops: DropCounter, onSecure: (socket: net.Socket) => void) {
    this.#log = log;
    this.#drops = drops;
    this.#onSecure = onSecure;
  }

  get port(): number {
    return this.#port;
  }

  async listen(address: string, port: number, credentials: TlsCredentials): Promise<void> {
    const server = tls.createServer({ ...contextOptions(credentials), handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS });
    this.#server = server;
    server.on('secureConnection', (s: tls.TLSSocket) => { this.#onSecure(s); });
    // Failed or timed-out handshakes: counted, the socket is destroyed by node.
    server.on('tlsClientError', () => { this.#drops.add('sip_tls_handshake_failed'); });
    server.on('error', (err) => { this.#log.warn('sip_tls_error', { error: err.message }); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: address }, () => { server.off('error', reject); resolve(); });
    });
    const a = server.address();
    this.#port = a !== null && typeof a === 'object' ? a.port : port;
  }

  setCredentials(credentials: TlsCredentials): void {
    this.#server?.setSecureContext(contextOptions(credentials));
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server !== null) await new Promise<void>((resolve) => { server.close(() => resolve()); });
  }
}
