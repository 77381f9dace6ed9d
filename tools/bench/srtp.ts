/**
 * The cost of SRTP termination (SPEC §12, §15), for tools/bench: one session of
 * `parties` participants in the core child (its own process, optionally
 * CPU-pinned), every participant sending 172-byte PCMU packets, once all
 * plain and once all SRTP (AES_CM_128_HMAC_SHA1_80: the core authenticates and
 * decrypts each packet once and encrypts it once per recipient), at the same
 * offered rates. For each rate: out packets/s delivered, loss, and the core
 * process's CPU time per out packet (from /proc/PID/stat, user + system).
 * The senders protect their packets before a step starts, so this process's
 * crypto is not in the timed part; receivers only count.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { SrtpOutbound } from '../../src/srtp/srtp-context.js';
import { CoreChild } from './core-client.js';
import { benchSrtpKeys } from './srtp-keys.js';

export interface SrtpBenchOptions {
  readonly host: string;
  readonly port: number;
  readonly bindAddress: string;
  readonly parties: number;
  readonly sizeBytes: number;
  /** Offered out packets/s (in × (parties − 1)) to try, ascending. */
  readonly outRates: readonly number[];
  readonly stepS: number;
  readonly cpu?: number;
  readonly io?: string;
}

export interface SrtpBenchStep {
  readonly mode: 'plain' | 'srtp';
  readonly offeredOutPps: number;
  readonly outPps: number;
  readonly lossPct: number;
  /** Core CPU (user + system) per delivered out packet, µs. */
  readonly cpuUsPerOut: number | null;
  /** Core CPU use during the step, in cores (1 = one core busy). */
  readonly cpuCores: number;
  readonly drops: Readonly<Record<string, number>>;
}

export interface SrtpBenchResult {
  readonly mode: 'plain' | 'srtp';
  readonly parties: number;
  readonly sizeBytes: number;
  readonly io: string;
  /** Highest offered out rate delivered with ≤ 0.1 % loss (a lower bound when the last step passed). */
  readonly sustainedOutPps: number;
  readonly capped: boolean;
  /** CPU per out packet at the highest rate delivered with ≤ 0.1 % loss (fixed costs of timers are spread thinnest there). */
  readonly cpuUsPerOut: number | null;
  readonly steps: readonly SrtpBenchStep[];
}

const TICK = 100; // /proc stat clock ticks per second (USER_HZ)

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return NaN;
  }
}

function rtpPacket(seq: number, ssrc: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0xd5);
  b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq & 0xffff, 2); b.writeUInt32BE((seq * 160) >>> 0, 4); b.writeUInt32BE(ssrc, 8);
  return b;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function benchSrtp(o: SrtpBenchOptions, mode: 'plain' | 'srtp'): Promise<SrtpBenchResult> {
  const child = await CoreChild.start({ listen: o.host, audioPort: o.port, ...(o.cpu === undefined ? {} : { cpu: o.cpu }), ...(o.io === undefined ? {} : { io: o.io }) });
  const socks: dgram.Socket[] = [];
  const steps: SrtpBenchStep[] = [];
  try {
    const pid = child.proc.pid ?? 0;
    let received = 0;
    for (let i = 0; i < o.parties; i++) {
      const s = dgram.createSocket('udp4');
      s.on('error', () => undefined);
      s.on('message', () => { received++; });
      await new Promise<void>((res, rej) => { s.once('error', rej); s.bind(0, o.bindAddress, () => { s.off('error', rej); res(); }); });
      // Receivers share this process with the senders: a deep queue keeps their loss out of the figures.
      try { s.setRecvBufferSize(8 << 20); } catch { /* capped by net.core.rmem_max */ }
      socks.push(s);
    }
    const session = `srtp-bench-${mode}`;
    const ports = socks.map((s) => s.address().port);
    await child.join([{ session, address: o.bindAddress, ports, srtp: mode === 'srtp' }]);
    const protectors = ports.map((p) => (mode === 'srtp' ? new SrtpOutbound(benchSrtpKeys(session, p).remote) : null));
    const seqs = ports.map(() => 0);
    // Warm-up: one packet from each participant latches its address (media is sent only to latched
    // or confirmed addresses), so the first step does not count those as lost.
    socks.forEach((s, i) => {
      const plain = rtpPacket(seqs[i]++, 0x5000 + i, o.sizeBytes);
      s.send(protectors[i]?.protectRtp(plain) ?? plain, o.port, o.host);
    });
    await sleep(300);
    const fanout = o.parties - 1;
    for (const offered of o.outRates) {
      const inPps = offered / fanout;
      const perSender = Math.max(1, Math.round((inPps * o.stepS) / o.parties));
      // Packets made before the step (the senders' crypto is not timed).
      const batches: Buffer[][] = socks.map((_, i) => {
        const list: Buffer[] = [];
        for (let k = 0; k < perSender; k++) {
          const plain = rtpPacket(seqs[i]++, 0x5000 + i, o.sizeBytes);
          list.push(protectors[i]?.protectRtp(plain) ?? plain);
        }
        return list;
      });
      const total = perSender * o.parties;
      received = 0;
      const before = (await child.stats()).drops;
      const cpu0 = cpuSeconds(pid);
      const t0 = process.hrtime.bigint();
      let sent = 0;
      // Paced in 2 ms slices: send what is due, round-robin over the senders.
      const due = (): number => Math.min(total, Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * inPps));
      while (sent < total) {
        const target = due();
        while (sent < target) {
          const i = sent % o.parties;
          const pkt = batches[i]?.[Math.floor(sent / o.parties)];
          if (pkt !== undefined) socks[i]?.send(pkt, o.port, o.host);
          sent++;
        }
        await sleep(2);
      }
      const sendS = Number(process.hrtime.bigint() - t0) / 1e9;
      await sleep(300);
      const cpuS = cpuSeconds(pid) - cpu0;
      const after = (await child.stats()).drops;
      const expected = total * fanout;
      const drops: Record<string, number> = {};
      for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) drops[k] = v - (before[k] ?? 0);
      steps.push({
        mode, offeredOutPps: offered, outPps: Math.round(received / sendS),
        lossPct: expected > 0 ? Math.max(0, (1 - received / expected) * 100) : 0,
        cpuUsPerOut: received > 0 && Number.isFinite(cpuS) ? (cpuS * 1e6) / received : null,
        cpuCores: Number.isFinite(cpuS) ? cpuS / (sendS + 0.3) : 0,
        drops,
      });
      if ((steps.at(-1)?.lossPct ?? 100) > 5) break; // far past the knee: stop climbing
    }
  } finally {
    for (const s of socks) await new Promise<void>((res) => { try { s.close(() => res()); } catch { res(); } });
    await child.close();
  }
  const passed = steps.filter((s) => s.lossPct <= 0.1);
  const best = passed.at(-1);
  return {
    mode, parties: o.parties, sizeBytes: o.sizeBytes, io: child.io,
    sustainedOutPps: best?.offeredOutPps ?? 0,
    capped: best !== undefined && best === steps.at(-1) && best.offeredOutPps === o.outRates.at(-1),
    cpuUsPerOut: best?.cpuUsPerOut ?? null,
    steps,
  };
}
