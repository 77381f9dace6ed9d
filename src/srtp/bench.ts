/**
 * The per-packet cost of this SRTP implementation alone (node:crypto), for
 * tools/bench: protect and unprotect of a 172-byte PCMU packet (160 bytes of
 * payload) and protect of a 40-byte RTCP packet, timed by CPU time in this process.
 */
import { writeU16, writeU32 } from '../rtp/big-endian.js';
import { SrtpInbound, SrtpOutbound } from './srtp-context.js';
import type { SrtpKey } from './srtp-keys.js';

export interface SrtpCryptoBenchResult {
  readonly implementation: string;
  readonly packets: number;
  readonly size: number;
  /** CPU µs to protect one RTP packet (encrypt + HMAC + copy). */
  readonly protect_us: number;
  /** CPU µs to authenticate, replay-check and decrypt one. */
  readonly unprotect_us: number;
  readonly protect_rtcp_us: number;
}

function cpuUs(f: () => void): number {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return d.user + d.system;
}

export function benchSrtpCrypto(packets: number, size = 172): SrtpCryptoBenchResult {
  const key: SrtpKey = { suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: Buffer.alloc(16, 7), masterSalt: Buffer.alloc(14, 9) };
  const out = new SrtpOutbound(key);
  const inb = new SrtpInbound(key);
  const plain = Buffer.alloc(size, 0xd5);
  plain[0] = 0x80; writeU32(plain, 8, 0x1234);
  const prot: Buffer[] = new Array<Buffer>(packets);
  // Warm-up (JIT, OpenSSL contexts).
  for (let i = 0; i < 2000; i++) { writeU16(plain, 2, i); out.protectRtp(plain); }
  const outB = new SrtpOutbound(key);
  const p = cpuUs(() => {
    for (let i = 0; i < packets; i++) {
      writeU16(plain, 2, i);
      prot[i] = outB.protectRtp(plain) ?? plain;
    }
  });
  const u = cpuUs(() => {
    for (let i = 0; i < packets; i++) inb.unprotectRtp(prot[i] as Buffer);
  });
  const rtcp = Buffer.alloc(40, 0);
  rtcp[0] = 0x80; rtcp[1] = 200; writeU16(rtcp, 2, 9);
  const r = cpuUs(() => { for (let i = 0; i < packets; i++) out.protectRtcp(rtcp); });
  return {
    implementation: `AES-CM with node:crypto (OpenSSL ${process.versions.openssl ?? '?'}) AES-128-ECB over counter blocks, HMAC-SHA1 in JS (src/srtp/hmac-sha1.ts)`,
    packets, size,
    protect_us: Math.round((p / packets) * 1000) / 1000,
    unprotect_us: Math.round((u / packets) * 1000) / 1000,
    protect_rtcp_us: Math.round((r / packets) * 1000) / 1000,
  };
}
