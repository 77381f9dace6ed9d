/** Benchmark SRTP keys shared by the core child and the load side (a module without side effects). */
import { createHash } from 'node:crypto';
import type { SrtpStreamKeys } from '../../src/reflector/api.js';
import type { SrtpKey } from '../../src/srtp/srtp-keys.js';

/**
 * Deterministic SDES keys of a benchmark participant, so that the load side can protect what it
 * sends without a SIP exchange: `remote` protects what the participant sends, `local` what it gets.
 */
export function benchSrtpKeys(session: string, port: number): SrtpStreamKeys {
  const key = (dir: string): SrtpKey => {
    const m = createHash('sha256').update(`${session}|${port}|${dir}`).digest();
    return { suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: m.subarray(0, 16), masterSalt: m.subarray(16, 30) };
  };
  return { suite: 'AES_CM_128_HMAC_SHA1_80', tag: 1, remote: key('in'), local: key('out') };
}
