/**
 * Polls the core's snapshot once a second: computes per-participant bitrates
 * for the dashboard and keeps cumulative packet/byte totals that do not go
 * down when a participant leaves (its last counters are folded into a
 * "departed" sum), so the Prometheus counters stay monotonic.
 */
import type { Medium, ReflectorCore, StreamCounters } from '../reflector/api.js';

type CounterKey = keyof StreamCounters;

const COUNTER_KEYS: readonly CounterKey[] = [
  'rtpPacketsIn', 'rtpBytesIn', 'rtcpPacketsIn', 'rtcpBytesIn',
  'rtpPacketsOut', 'rtpBytesOut', 'rtcpPacketsOut', 'rtcpBytesOut',
];

function zero(): StreamCounters {
  return { rtpPacketsIn: 0, rtpBytesIn: 0, rtcpPacketsIn: 0, rtcpBytesIn: 0,
    rtpPacketsOut: 0, rtpBytesOut: 0, rtcpPacketsOut: 0, rtcpBytesOut: 0 };
}

export interface Rate {
  readonly inBitsPerS: number;
  readonly outBitsPerS: number;
}

interface Seen {
  at: number;
  byMedium: Map<Medium, StreamCounters>;
}

export class TrafficTracker {
  readonly #core: ReflectorCore;
  readonly #seen = new Map<string, Seen>();
  readonly #departed = new Map<Medium, StreamCounters>([['audio', zero()], ['video', zero()]]);
  readonly #rates = new Map<string, Rate>();

  constructor(core: ReflectorCore) {
    this.#core = core;
  }

  /** Takes one sample; call periodically. */
  poll(now = Date.now()): void {
    const present = new Set<string>();
    for (const session of this.#core.snapshot()) {
      for (const p of session.participants) {
        present.add(p.id);
        const prev = this.#seen.get(p.id);
        const byMedium = new Map<Medium, StreamCounters>();
        let inBytes = 0;
        let outBytes = 0;
        let prevIn = 0;
        let prevOut = 0;
        for (const s of p.streams) {
          byMedium.set(s.medium, { ...s.counters });
          inBytes += s.counters.rtpBytesIn + s.counters.rtcpBytesIn;
          outBytes += s.counters.rtpBytesOut + s.counters.rtcpBytesOut;
          const pc = prev?.byMedium.get(s.medium);
          if (pc) {
            prevIn += pc.rtpBytesIn + pc.rtcpBytesIn;
            prevOut += pc.rtpBytesOut + pc.rtcpBytesOut;
          }
        }
        if (prev && now > prev.at) {
          const dt = (now - prev.at) / 1000;
          this.#rates.set(p.id, {
            inBitsPerS: Math.max(0, ((inBytes - prevIn) * 8) / dt),
            outBitsPerS: Math.max(0, ((outBytes - prevOut) * 8) / dt),
          });
        }
        this.#seen.set(p.id, { at: now, byMedium });
      }
    }
    for (const [id, seen] of this.#seen) {
      if (present.has(id)) continue;
      for (const [medium, c] of seen.byMedium) {
        const acc = this.#departed.get(medium);
        if (acc) for (const k of COUNTER_KEYS) acc[k] += c[k];
      }
      this.#seen.delete(id);
      this.#rates.delete(id);
    }
  }

  rate(id: string): Rate | undefined {
    return this.#rates.get(id);
  }

  /** Cumulative totals per medium: departed participants plus the present ones' current counters. */
  totals(): Map<Medium, StreamCounters> {
    this.poll();
    const out = new Map<Medium, StreamCounters>();
    for (const [m, c] of this.#departed) out.set(m, { ...c });
    for (const session of this.#core.snapshot()) {
      for (const p of session.participants) {
        for (const s of p.streams) {
          const acc = out.get(s.medium) ?? zero();
          for (const k of COUNTER_KEYS) acc[k] += s.counters[k];
          out.set(s.medium, acc);
        }
      }
    }
    return out;
  }
}
