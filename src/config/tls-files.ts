/**
 * TLS_CERT / TLS_KEY (SPEC §15): reads the PEM certificate chain and key and
 * checks that they make a TLS context (parseable, key matching the
 * certificate). Used by the loader (issues naming the file) and by the SIP TLS
 * transport when SIGHUP re-reads them. Never throws.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** PEM files larger than this are refused (a chain of a few certificates is a few KiB). */
export const MAX_PEM_BYTES = 1024 * 1024;

export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export type TlsReadResult =
  | { readonly ok: true; readonly credentials: TlsCredentials }
  | { readonly ok: false; readonly keyword: 'TLS_CERT' | 'TLS_KEY'; readonly file: string; readonly message: string };

function readPem(file: string): Buffer | string {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return 'not a regular file';
    if (st.size > MAX_PEM_BYTES) return `larger than ${MAX_PEM_BYTES} bytes`;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function readTlsCredentials(certFile: string, keyFile: string): TlsReadResult {
  const cert = readPem(certFile);
  if (typeof cert === 'string') return { ok: false, keyword: 'TLS_CERT', file: certFile, message: `expected a readable PEM certificate chain file ${certFile}: ${cert}` };
  const key = readPem(keyFile);
  if (typeof key === 'string') return { ok: false, keyword: 'TLS_KEY', file: keyFile, message: `expected a readable PEM private key file ${keyFile}: ${key}` };
  try {
    createSecureContext({ cert });
  } catch (err) {
    return { ok: false, keyword: 'TLS_CERT', file: certFile, message: `expected a PEM certificate chain in ${certFile}: ${reason(err)}` };
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    return { ok: false, keyword: 'TLS_KEY', file: keyFile, message: `expected the PEM private key of the certificate ${certFile} in ${keyFile}: ${reason(err)}` };
  }
  return { ok: true, credentials: { cert, key } };
}
