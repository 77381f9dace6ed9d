/**
 * Admission of load-generator participants into a running reflector through SIP: one UAC (our
 * tools/lib SIP client, digest MD5/SHA-256 when challenged) per participant, INVITE to
 * sip:SESSION@HOST:PORT with an SDP naming the participant's media socket (PCMU, which is what the
 * load generator's packets carry as PT 0), at most CONCURRENCY INVITEs in flight; the time from
 * INVITE to final response is the join time. leave() sends every BYE; close() frees the sockets.
 */
import { SipUdpClient } from '../lib/sip-client.js';
import type { JoinGroup } from './core-child.js';

const CONCURRENCY = 16;

function sdp(address: string, port: number, n: number): string {
  return ['v=0', `o=- ${n} 1 IN IP4 ${address}`, 's=loadgen', `c=IN IP4 ${address}`, 't=0 0',
    `m=audio ${port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', `a=rtcp:${port + 1}`, 'a=sendrecv', ''].join('\r\n');
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export class SipLoad {
  readonly #clients: SipUdpClient[] = [];
  readonly #joined: SipUdpClient[] = [];
  readonly #times: number[] = [];
  readonly #statuses = new Map<number, number>();
  #failed = 0;

  constructor(
    readonly host: string,
    readonly sipPort: number,
    readonly bindAddress: string,
    readonly user: string | undefined,
    readonly password: string | undefined,
    readonly mode: 'mix' | 'reflect' | undefined,
  ) {}

  async join(groups: readonly JoinGroup[]): Promise<void> {
    const jobs: { session: string; address: string; port: number }[] = [];
    for (const g of groups) for (const port of g.ports) jobs.push({ session: g.session, address: g.address, port });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const client = new SipUdpClient({
          localAddress: this.bindAddress, server: this.host, serverPort: this.sipPort,
          ...(this.user !== undefined ? { user: this.user } : {}), ...(this.password !== undefined ? { password: this.password } : {}),
        });
        this.#clients.push(client);
        const t0 = performance.now();
        try {
          await client.bind();
          const r = await client.invite(job.session, sdp(job.address, job.port, next), this.mode !== undefined ? `;mode=${this.mode}` : '');
          this.#statuses.set(r.status, (this.#statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) {
            this.#times.push(performance.now() - t0);
            this.#joined.push(client);
          } else {
            this.#failed++;
          }
        } catch {
          this.#failed++;
          this.#statuses.set(0, (this.#statuses.get(0) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, jobs.length) }, () => worker()));
  }

  async leave(): Promise<void> {
    await Promise.all(this.#joined.splice(0).map((c) => c.bye().catch(() => 0)));
  }

  joinTimes(): { ms: { p50: number; p99: number; max: number }; failed: number; statuses: Record<string, number> } {
    const sorted = [...this.#times].sort((a, b) => a - b);
    const r = (v: number): number => Math.round(v * 100) / 100;
    return {
      ms: { p50: r(quantile(sorted, 0.5)), p99: r(quantile(sorted, 0.99)), max: r(sorted.at(-1) ?? 0) },
      failed: this.#failed,
      statuses: Object.fromEntries([...this.#statuses].map(([k, v]) => [String(k), v])),
    };
  }

  close(): void {
    for (const c of this.#clients) c.close();
    this.#clients.length = 0;
  }
}
