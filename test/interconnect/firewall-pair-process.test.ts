/**
 * The firewall pair of SPEC §1 with real processes: two reflectors
 * (`node dist/src/main.js`) on 127.0.3.30 and 127.0.3.31 with the same ports,
 * REFLECTOR_INTERCONNECTION pointing at each other, and one conference client
 * (`node dist/tools/client.js`: SIP INVITE, PCMU at 20 ms, RTCP) joined to each.
 * Each client must hear the other through the interconnect.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { baseConfig, startReflector, type LogRecord, type ReflectorProcess } from '../helpers/reflector-process.js';

const CLIENT_JS = fileURLToPath(new URL('../../tools/client.js', import.meta.url));
const R1 = '127.0.3.30';
const R2 = '127.0.3.31';
const C1 = '127.0.3.130';
const C2 = '127.0.3.131';
const RELAY_PORT = 5564;
const CLIENT_SECONDS = 3;
/** 20 ms packets for 3 s is ~150; allow for the join and relay set-up at the start. */
const MIN_PACKETS = 50;

interface ClientSummary {
  joined: boolean;
  ssrc: number;
  sentPackets: number;
  received: { ssrc: number; packets: number; rtcpPackets: number }[];
  endedBy: string;
  error?: string;
}

function runClient(server: string, local: string, session: string): Promise<ClientSummary> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT_JS, '--server', `${server}:5060`, '--local', local, '--session', session,
      '--duration', String(CLIENT_SECONDS), '--tone', '440'], { timeout: (CLIENT_SECONDS + 10) * 1000 },
    (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ClientSummary);
      } catch {
        reject(new Error(`client on ${local} failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      }
    });
  });
}

function peerConfig(self: string, peer: string, extra = ''): string {
  return baseConfig(self, [`REFLECTOR_INTERCONNECTION ${peer} ${RELAY_PORT}`, extra].join('\n'));
}

const isEvent = (event: string, extra: (r: LogRecord) => boolean = () => true) =>
  (r: LogRecord): boolean => r.event === event && extra(r);

function heard(summary: ClientSummary, other: ClientSummary): number {
  return summary.received.find((r) => r.ssrc === other.ssrc)?.packets ?? 0;
}

describe('interconnect: firewall pair of reflector processes with SIP clients', function () {
  this.timeout(40_000);
  let procs: ReflectorProcess[] = [];
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of procs) process.stderr.write(`--- ${p.configFile}\n${p.output().slice(-6000)}\n`);
    }
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  });

  async function start(config: string): Promise<ReflectorProcess> {
    const p = await startReflector({ config });
    procs.push(p);
    return p;
  }

  it('carries each client\'s audio to the client of the other reflector (shared secret)', async () => {
    const r1 = await start(peerConfig(R1, R2, 'INTERCONNECTION_SECRET same-on-both'));
    const r2 = await start(peerConfig(R2, R1, 'INTERCONNECTION_SECRET same-on-both'));
    await Promise.all([r1.waitForLog(isEvent('peer_up')), r2.waitForLog(isEvent('peer_up'))]);
    const [c1, c2] = await Promise.all([runClient(R1, C1, 'firewall pair'), runClient(R2, C2, 'firewall pair')]);
    expect(c1.joined && c2.joined).to.equal(true);
    expect(heard(c1, c2)).to.be.at.least(MIN_PACKETS);
    expect(heard(c2, c1)).to.be.at.least(MIN_PACKETS);
    expect(c1.received.find((r) => r.ssrc === c2.ssrc)?.rtcpPackets).to.be.at.least(1);
    expect(c1.received.map((r) => r.ssrc)).to.deep.equal([c2.ssrc]);
    expect(r1.logs.filter(isEvent('interconnect_drop'))).to.deep.equal([]);
    expect(r2.logs.filter(isEvent('interconnect_drop'))).to.deep.equal([]);
  });

  it('lets nothing cross with mismatched secrets, and logs the auth failures', async () => {
    const r1 = await start(peerConfig(R1, R2, 'INTERCONNECTION_SECRET one'));
    const r2 = await start(peerConfig(R2, R1, 'INTERCONNECTION_SECRET two'));
    const authFailed = isEvent('interconnect_drop', (r) => r.reason === 'auth_failed');
    await Promise.all([r1.waitForLog(authFailed), r2.waitForLog(authFailed)]);
    const [c1, c2] = await Promise.all([runClient(R1, C1, 'sealed'), runClient(R2, C2, 'sealed')]);
    expect(c1.joined && c2.joined).to.equal(true);
    expect(c1.sentPackets).to.be.at.least(MIN_PACKETS);
    expect(heard(c1, c2)).to.equal(0);
    expect(heard(c2, c1)).to.equal(0);
    expect(r1.logs.filter(isEvent('peer_up'))).to.deep.equal([]);
  });

  it('notices a restarted peer process by its new boot epoch, and media crosses again', async () => {
    const r1 = await start(peerConfig(R1, R2));
    let r2 = await start(peerConfig(R2, R1));
    await r1.waitForLog(isEvent('peer_up'));
    await r2.stop();
    procs = [r1];
    r2 = await start(peerConfig(R2, R1));
    await r1.waitForLog(isEvent('peer_restarted'));
    await r2.waitForLog(isEvent('peer_up'));
    const [c1, c2] = await Promise.all([runClient(R1, C1, 'again'), runClient(R2, C2, 'again')]);
    expect(heard(c1, c2)).to.be.at.least(MIN_PACKETS);
    expect(heard(c2, c1)).to.be.at.least(MIN_PACKETS);
  });

  it('adds a peer on SIGHUP without a restart', async () => {
    // R1 starts with another (absent) peer on the same relay port, so its relay sockets are bound.
    const r1 = await start(peerConfig(R1, '127.0.3.39'));
    const r2 = await start(peerConfig(R2, R1));
    // R2's HELLOs reach R1, which does not know it yet.
    await r1.waitForLog(isEvent('interconnect_drop', (r) => r.reason === 'not_peer'));
    r1.writeConfig(peerConfig(R1, R2));
    r1.signal('SIGHUP');
    await r1.waitForLog(isEvent('peer_up'));
    await r2.waitForLog(isEvent('peer_up'));
    const [c1, c2] = await Promise.all([runClient(R1, C1, 'reloaded'), runClient(R2, C2, 'reloaded')]);
    expect(heard(c1, c2)).to.be.at.least(MIN_PACKETS);
    expect(heard(c2, c1)).to.be.at.least(MIN_PACKETS);
    expect(r1.logs.filter(isEvent('reloaded'))).to.have.length(1);
  });
});
