/**
 * Call-quality histograms: every quality sample the core computes at a participant's RTCP report
 * (see src/reflector/call-quality.ts) is observed once, labelled only by direction (`sent`: what
 * participants sent, as the reflector received it; `received`: what they report receiving) — no
 * per-participant labels. Round-trip times have no direction.
 */
import { Histogram, type Registry } from 'prom-client';
import type { QualitySample, ReflectorCore } from '../reflector/api.js';

export class QualityMetrics {
  readonly #loss: Histogram<string>;
  readonly #jitter: Histogram<string>;
  readonly #mos: Histogram<string>;
  readonly #rtt: Histogram<string>;
  #core: ReflectorCore | null = null;

  constructor(register: Registry) {
    this.#loss = new Histogram({
      name: 'reflector_call_loss_percent', help: 'Packet loss per RTCP report interval, % (sent: measured on participants\' RTP; received: as they report)',
      labelNames: ['direction'], buckets: [0.5, 1, 2, 3, 5, 10, 20, 50], registers: [register],
    });
    this.#jitter = new Histogram({
      name: 'reflector_call_jitter_ms', help: 'Interarrival jitter (RFC 3550), ms',
      labelNames: ['direction'], buckets: [2, 5, 10, 20, 30, 50, 100, 200], registers: [register],
    });
    this.#mos = new Histogram({
      name: 'reflector_call_mos', help: 'Estimated MOS (simplified ITU-T G.107 E-model, 1-4.5)',
      labelNames: ['direction'], buckets: [1.5, 2, 2.5, 3, 3.5, 4, 4.2, 4.4], registers: [register],
    });
    this.#rtt = new Histogram({
      name: 'reflector_call_rtt_ms', help: 'Round-trip time between the reflector and participants (RTCP LSR/DLSR, or XR), ms',
      buckets: [10, 25, 50, 100, 150, 200, 300, 500, 1000], registers: [register],
    });
  }

  readonly #onSample = (s: QualitySample): void => {
    const labels = { direction: s.direction };
    this.#loss.observe(labels, s.lossPct);
    this.#jitter.observe(labels, s.jitterMs);
    this.#mos.observe(labels, s.mos);
    // One RTT observation per report: with the received direction's sample.
    if (s.rttMs !== undefined && s.direction === 'received') this.#rtt.observe(s.rttMs);
  };

  attach(core: ReflectorCore): void {
    if (this.#core !== null) return;
    this.#core = core;
    core.events.on('call-quality', this.#onSample);
  }

  detach(): void {
    this.#core?.events.off('call-quality', this.#onSample);
    this.#core = null;
  }
}
