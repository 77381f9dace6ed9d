/**
 * Issue 10: Internet faults on the firewall-1 link of the namespace firewall pair (with fw1 NATing R2,
 * rules as printed by `reflector firewall-rules`), made with packet-filter rules in fw1 (this kernel has
 * no netem, so no delay or jitter):
 * - random loss with the `statistic` match (8 % each way) while a file crosses the relay;
 * - a 30 s partition (everything between R2 and the Internet dropped both ways) with a share in flight;
 * - R1 killed with SIGKILL and restarted at once, with a file of R1 announced to R2.
 * Each test measures how long recovery took (printed) and asserts a generous bound derived from the
 * protocol's timers: HELLO every 5 s, a peer is down after 3 missed (15 s), SESSION_STATE refresh 5 s.
 * The last test shows nothing is left: no session, share, file, spool file or listening share port.
 */
import { writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { deterministicBytes, sha256, type ClientProcess } from '../helpers/client-cli.js';
import { ADDR, requireTopologies, startFirewallPair, type FirewallPair } from '../helpers/firewall-pair-netns.js';
import type { LogRecord } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';

interface PeerJson { key: string; up: boolean; relayPacketsOut: number; relayPacketsIn: number }
interface SessionJson { name: string; participants: unknown[]; remoteCounts: Record<string, number> }

const SESSION = 'faults';
/** Bounds from the protocol timers: detection 3 × 5 s HELLO (+ slack); recovery one HELLO + one refresh (+ slack). */
const DOWN_WITHIN_MS = 30_000;
const RECOVER_WITHIN_MS = 25_000;
const PARTITION_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('firewall pair in namespaces: Internet faults on the fw1 link (issue 10)', function () {
  this.timeout(120_000);
  let pair: FirewallPair | undefined;
  let inside: ClientProcess | undefined;
  let outside: ClientProcess | undefined;
  const measured: string[] = [];

  const peers = async (which: 'r1' | 'r2'): Promise<PeerJson[]> => (await pair!.status(which, '/api/peers')) as PeerJson[];
  const relayIn = async (which: 'r1' | 'r2'): Promise<number> => (await peers(which)).reduce((n, p) => n + p.relayPacketsIn, 0);
  const relayOut = async (which: 'r1' | 'r2'): Promise<number> => (await peers(which)).reduce((n, p) => n + p.relayPacketsOut, 0);
  const remoteCount = async (which: 'r1' | 'r2'): Promise<number> => {
    const s = ((await pair!.status(which, '/api/sessions')) as SessionJson[]).find((x) => x.name === SESSION);
    return Object.values(s?.remoteCounts ?? {}).reduce((a, b) => a + b, 0);
  };
  /** The next log line of `which` (from now on) matching `pred`. */
  const nextLog = (which: 'r1' | 'r2', pred: (l: LogRecord) => boolean, timeoutMs = DOWN_WITHIN_MS + PARTITION_MS): Promise<LogRecord> => {
    const p = pair![which];
    const from = p.logs.length;
    return p.waitForLog((l) => pred(l) && p.logs.indexOf(l) >= from, timeoutMs);
  };
  /** Relay flows both ways again and each side counts the other's participants right. */
  const recovered = async (r2Sees: number, r1Sees: number): Promise<void> => {
    const in1 = await relayIn('r1');
    const in2 = await relayIn('r2');
    await waitUntil(async () => (await relayIn('r1')) > in1 + 20 && (await relayIn('r2')) > in2 + 20
      && (await remoteCount('r2')) === r2Sees && (await remoteCount('r1')) === r1Sees, RECOVER_WITHIN_MS, 'relay and counts back', 200);
  };
  /** fw1: a table of its own that drops before the printed filter sees the packet. */
  const fault = (rules: string): Promise<void> => pair!.topo.nft('fw1',
    `table inet rrfw_fault {\n  chain forward {\n    type filter hook forward priority -10; policy accept;\n${rules}\n  }\n}\n`);
  const clearFault = (): Promise<string> => pair!.topo.sh('fw1', 'nft', ['delete', 'table', 'inet', 'rrfw_fault']);

  before(async function () {
    requireTopologies(this);
    pair = await startFirewallPair({ nat: true, format: 'nft' });
    await pair.r2.waitForLog((l) => l.event === 'peer_up', 20_000);
    await pair.r1.waitForLog((l) => l.event === 'peer_up', 20_000);
    inside = pair.client('u1', SESSION, ['--duration', '300'], 330_000);
    outside = pair.client('u3', SESSION, ['--duration', '300'], 330_000);
    await inside.event((e) => e.event === 'joined');
    await outside.event((e) => e.event === 'joined');
    await recovered(1, 1);
  });

  after(async function () {
    if (measured.length > 0) process.stdout.write(`      measured: ${measured.join('; ')}\n`);
    await pair?.destroy();
    pair = undefined;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && pair !== undefined) process.stderr.write(pair.output());
  });

  it('8 % random loss each way (statistic match): the peers stay up, the relay loses about that much, a file crosses whole', async () => {
    const p = pair!;
    const rule = (dir: '-s' | '-d'): string[] => ['FORWARD', dir, ADDR.r2, '-m', 'statistic', '--mode', 'random', '--probability', '0.08', '-j', 'DROP'];
    await p.topo.sh('fw1', 'iptables', ['-I', ...rule('-s')]);
    await p.topo.sh('fw1', 'iptables', ['-I', ...rule('-d')]);
    const downsBefore = p.r2.logs.filter((l) => l.event === 'peer_down').length + p.r1.logs.filter((l) => l.event === 'peer_down').length;
    try {
      const out0 = await relayOut('r1');
      const in0 = await relayIn('r2');
      const data = deterministicBytes(2 * 1024 * 1024, 0x1055);
      const src = join(p.dir, 'lossy.bin');
      writeFileSync(src, data);
      const getter = p.client('u1', SESSION, ['--get-file', '--out', join(p.dir, 'lossy-u1.bin')]);
      await getter.event((e) => e.event === 'joined');
      const sender = p.client('u3', SESSION, ['--send-file', src]);
      expect((await sender.done()).code, sender.output()).to.equal(0);
      const g = await getter.done();
      expect(g.code, getter.output()).to.equal(0);
      expect(g.summary.getFile).to.include({ bytes: data.length, sha256: sha256(data), verified: true });
      await sleep(6000);
      // R2's count window [in0, in1] lies inside R1's [out0, out1] (reads in that order), so media
      // still flowing between the status reads can only raise the figure, never make it negative.
      const in1 = await relayIn('r2');
      const out1 = await relayOut('r1');
      const loss = 1 - (in1 - in0) / (out1 - out0);
      measured.push(`loss R1→R2 ${(loss * 100).toFixed(1)} % of ${out1 - out0} relay datagrams`);
      expect(out1 - out0).to.be.greaterThan(200);
      expect(loss, 'the statistic rule dropped some, not most').to.be.within(0.01, 0.3);
    } finally {
      await p.topo.sh('fw1', 'iptables', ['-D', ...rule('-s')]);
      await p.topo.sh('fw1', 'iptables', ['-D', ...rule('-d')]);
    }
    const downsAfter = p.r2.logs.filter((l) => l.event === 'peer_down').length + p.r1.logs.filter((l) => l.event === 'peer_down').length;
    expect(downsAfter, 'no peer went down under 8 % loss').to.equal(downsBefore);
    await recovered(1, 1);
  });

  it('a 30 s partition: both sides mark the peer down, the share in flight ends cleanly, relay and counts come back by themselves', async () => {
    const p = pair!;
    const viewer = p.client('u3', SESSION, ['--view', '--out', join(p.dir, 'part-view.bin')]);
    await viewer.event((e) => e.event === 'joined');
    const sharer = p.client('u1', SESSION, ['--share', '-', '--title', 'during partition']);
    await sharer.event((e) => e.event === 'sharing');
    await viewer.event((e) => e.event === 'viewing');
    const first = deterministicBytes(256 * 1024, 0x9a57);
    sharer.proc.stdin!.write(first);
    await waitUntil(() => { try { return statSync(join(p.dir, 'part-view.bin')).size >= first.length; } catch { return false; } }, 20_000, 'the viewer to get the first part');
    // Both sides count the sharer (a participant) too now.
    await waitUntil(async () => (await remoteCount('r1')) === 2, RECOVER_WITHIN_MS, 'R1 to count u1 twice', 200);

    const t0 = Date.now();
    const down2 = nextLog('r2', (l) => l.event === 'peer_down');
    const down1 = nextLog('r1', (l) => l.event === 'peer_down');
    await fault(`    ip saddr ${ADDR.r2} drop\n    ip daddr ${ADDR.r2} drop`);
    try {
      await Promise.all([down2, down1]);
      const detected = Date.now() - t0;
      measured.push(`partition detected (peer_down both sides) after ${(detected / 1000).toFixed(1)} s`);
      expect(detected).to.be.at.most(DOWN_WITHIN_MS);
      // The viewer on R1 is not left hanging: R1 ends the proxied share, the client ends its view.
      const v = await viewer.done(20_000);
      const view = v.summary.view as Record<string, unknown> | undefined;
      measured.push(`viewer during partition: exit ${String(v.code)}, ${String(view?.bytes ?? v.summary.error)} bytes`);
      expect(view?.bytes ?? 0, viewer.output()).to.be.at.most(first.length);
      await p.r1.waitForLog((l) => l.event === 'share_ended', 10_000);
      expect((await p.status('r1', '/api/shares')) as unknown[]).to.deep.equal([]);
      await sleep(Math.max(0, PARTITION_MS - (Date.now() - t0)));
    } finally {
      await clearFault();
    }
    const t1 = Date.now();
    await Promise.all([
      nextLog('r2', (l) => l.event === 'peer_up', RECOVER_WITHIN_MS),
      nextLog('r1', (l) => l.event === 'peer_up', RECOVER_WITHIN_MS),
    ]);
    const up = Date.now() - t1;
    await recovered(1, 2);
    const back = Date.now() - t1;
    measured.push(`after the partition: peers up in ${(up / 1000).toFixed(1)} s, relay and counts right in ${(back / 1000).toFixed(1)} s`);
    expect(back).to.be.at.most(RECOVER_WITHIN_MS);

    // The sharer was never disturbed on its side; it finishes, and the share is gone on both sides.
    sharer.proc.stdin!.end(deterministicBytes(64 * 1024, 0x9a58));
    const s = await sharer.done();
    expect(s.code, sharer.output()).to.equal(0);
    await waitUntil(async () => ((await p.status('r2', '/api/shares')) as unknown[]).length === 0, 10_000, 'no share left on R2');
  });

  it('R1 killed with SIGKILL and restarted: R2 forgets its old state, the new R1 sweeps its spool, relay resumes', async () => {
    const p = pair!;
    // A file of R1 announced to R2, so that the kill leaves a spool file behind on R1.
    const src = join(p.dir, 'before-kill.bin');
    writeFileSync(src, deterministicBytes(64 * 1024, 0xdead));
    const sender = p.client('u3', SESSION, ['--send-file', src]);
    const sent = await sender.done();
    expect(sent.code, sender.output()).to.equal(0);
    const fileId = (sent.summary.sendFile as { fileId: number }).fileId;
    const peerFiles = async (): Promise<{ id: number }[]> =>
      ((await p.status('r2', '/api/files')) as { id: number; origin: string }[]).filter((f) => f.origin === 'peer');
    await waitUntil(async () => (await peerFiles()).some((f) => f.id === fileId), 10_000, 'R2 to know the file');
    expect(p.spoolFiles('r1').length).to.be.at.least(1);

    const restartSeen = nextLog('r2', (l) => l.event === 'peer_restarted' || l.event === 'peer_up', RECOVER_WITHIN_MS + 10_000);
    p.r1.signal('SIGKILL');
    await p.r1.exited();
    outside!.proc.kill('SIGKILL'); // its reflector is gone
    const t0 = Date.now();
    const r1 = await p.restart('r1');
    await r1.waitForLog((l) => l.event === 'spool_swept', 5000);
    expect(p.spoolFiles('r1'), 'the killed R1\'s spool file is swept').to.deep.equal([]);
    await restartSeen;
    // R2 no longer counts u3 (R1 lost it) and drops R1's file.
    await waitUntil(async () => (await remoteCount('r2')) === 0 && (await peerFiles()).length === 0,
      RECOVER_WITHIN_MS, 'R2 to forget the old R1\'s participant and file', 200);
    const forgot = Date.now() - t0;
    const u4 = p.client('u4', SESSION, ['--duration', '60']);
    await u4.event((e) => e.event === 'joined');
    outside = u4;
    await recovered(1, 1);
    const back = Date.now() - t0;
    measured.push(`R1 SIGKILL+restart: R2 forgot its old state in ${(forgot / 1000).toFixed(1)} s, relay with a new participant in ${(back / 1000).toFixed(1)} s`);
    await sleep(2000); // at least 2 s of media both ways
    u4.proc.kill('SIGTERM');
    const r = await u4.done(30_000);
    expect(r.summary.byeStatus, u4.output()).to.equal(200);
    const heard = (r.summary.received as { packets: number }[]).reduce((n, x) => Math.max(n, x.packets), 0);
    expect(heard, 'u4 on the restarted R1 hears u1 through R2').to.be.at.least(50);
  });

  it('after everyone leaves: no session, share, file, spool file or share port is left on either side', async () => {
    const p = pair!;
    inside!.proc.kill('SIGTERM');
    expect((await inside!.done(20_000)).summary.byeStatus).to.equal(200);
    for (const which of ['r1', 'r2'] as const) {
      await waitUntil(async () => ((await p.status(which, '/api/sessions')) as unknown[]).length === 0, 20_000, `${which}: no session`, 200);
      expect(await p.status(which, '/api/shares')).to.deep.equal([]);
      expect(await p.status(which, '/api/files')).to.deep.equal([]);
      await waitUntil(() => p.spoolFiles(which).length === 0, 10_000, `${which}: spool empty`, 200);
      const listening = (await p.topo.sh(which, 'ss', ['-Htln'])).split('\n').map((l) => Number(/:(\d+)\s/.exec(l)?.[1] ?? 0))
        .filter((port) => (port >= 6000 && port <= 6100) || (port >= 7000 && port <= 7100));
      expect(listening, `${which}: share ports still listening`).to.deep.equal([]);
    }
  });
});
