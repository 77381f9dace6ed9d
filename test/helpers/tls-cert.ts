/**
 * Test-only TLS certificates, made at test time with `openssl req -x509` in a
 * temporary directory (never shipped, never trusted by anything but the test).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCert {
  readonly cert: string;
  readonly key: string;
  /** cert + key in one PEM file (baresip's sip_certificate form). */
  readonly combined: string;
}

/** Writes a self-signed P-256 certificate for CN `cn` (and IP SAN `ip`) into `dir`. */
export function makeTestCert(dir: string, cn = 'rtp-reflector-test', ip = '127.0.0.1', prefix = 'tls'): TestCert {
  const cert = join(dir, `${prefix}-cert.pem`);
  const key = join(dir, `${prefix}-key.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=IP:${ip}`, '-days', '2',
    '-keyout', key, '-out', cert,
  ], { stdio: 'ignore', timeout: 20_000 });
  const combined = join(dir, `${prefix}-combined.pem`);
  execFileSync('sh', ['-c', `cat "${cert}" "${key}" > "${combined}"`], { timeout: 5000 });
  return { cert, key, combined };
}
