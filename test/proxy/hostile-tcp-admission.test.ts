/**
 * Issue 11: many source addresses holding idle connections on the proxy's TCP
 * ports must not lock out the people already talking.
 *
 * - A real reflector process: 60 source addresses hold 8 idle connections each
 *   on FILE_TRANSFER_PORT (more than the port takes from unknown sources) and
 *   renew every connection the reflector closes, while a participant sends a
 *   real file with the built client CLI: the upload succeeds, the refusals are
 *   counted (reflector_proxy_events_total{name="file_full"}) and logged, rate-limited.
 * - FileServer and ShareHub directly, small limits: a known participant's
 *   connection evicts the oldest unauthenticated connection of an unknown
 *   source when the port is full, and under pressure the first-line deadline
 *   of unknown sources is short.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { newPasskey } from '../../src/proxy/passkey.js';
import { createLogger } from '../../src/runtime/logger.js';
import { RateLimitedLog } from '../../src/runtime/rate-limited-log.js';
import { deterministicBytes, sha256, startClient, type ClientProcess } from '../helpers/client-cli.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';
import { rawExchange, useProxyHarness, within } from './harness.js';

const REFLECTOR = '127.0.40.1';
const PARTICIPANT = '127.0.40.10';
const STATUS_PORT = 18_140;
const FILE_PORT = 18_141;
/** Attackers: 127.0.41.1 … 127.0.41.60. */
const ATTACKERS = Array.from({ length: 60 }, (_, i) => `127.0.41.${i + 1}`);
const PER_ATTACKER = 8;

/** Holds `perSource` idle connections from each address and reopens each one the server closes, until stopped. */
class IdleHolders {
  readonly sockets = new Set<Socket>();
  refusedOrClosed = 0;
  connected = 0;
  #stopped = false;

  constructor(readonly host: string, readonly port: number) {}

  start(sources: readonly string[], perSource: number): void {
    for (const src of sources) for (let i = 0; i < perSource; i++) this.#open(src);
  }

  #open(src: string): void {
    if (this.#stopped) return;
    const s = connect({ host: this.host, port: this.port, localAddress: src });
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.once('connect', () => { this.connected++; });
    s.once('close', () => {
      this.sockets.delete(s);
      this.refusedOrClosed++;
      // Renewed after a short pause (bounded: stops with stop()).
      if (!this.#stopped) { const t = setTimeout(() => this.#open(src), 200); t.unref(); }
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

async function metric(name: string): Promise<number> {
  const res = await fetch(`http://${REFLECTOR}:${STATUS_PORT}/metrics`);
  const text = await res.text();
  const re = new RegExp(`^reflector_proxy_events_total\\{name="${name}"\\} (\\d+)`, 'm');
  const m = re.exec(text);
  return m === null ? 0 : Number(m[1]);
}

describe('proxy TCP admission against many idle sources (issue 11)', function () {
  this.timeout(90_000);

  describe('real reflector process', () => {
    let reflector: ReflectorProcess | undefined;
    let holders: IdleHolders | undefined;
    const children: ClientProcess[] = [];

    afterEach(async () => {
      holders?.stop();
      holders = undefined;
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      children.length = 0;
      await reflector?.stop();
      reflector = undefined;
    });
    // After the reflector: its temporary directory goes last (afterEach hooks run in the order registered).
    const harness = useProxyHarness();

    it('60 addresses x 8 idle connections, renewed: a participant still uploads; refusals counted and logged once', async () => {
      const dir = await harness.tempDir('hostile-tcp-');
      mkdirSync(join(dir, 'spool'));
      reflector = await startReflector({
        config: baseConfig(REFLECTOR, '').replace('STATUS_LISTEN off', `STATUS_LISTEN ${REFLECTOR}:${STATUS_PORT}`) + [
          `FILE_SPOOL_DIR ${join(dir, 'spool')}`,
          `FILE_TRANSFER_PORT ${FILE_PORT}`,
          'FILE_MAX_BYTES 3M',
          'APPSHARE_SERVER_PORTS 47400-47409',
          'APPSHARE_CLIENT_PORTS 47410-47419',
        ].join('\n') + '\n',
      });
      const h = new IdleHolders(REFLECTOR, FILE_PORT);
      holders = h;
      h.start(ATTACKERS, PER_ATTACKER);
      // 480 attempts against 384 places for unknown sources (512 minus 128 reserved): the port is full for them.
      await waitUntil(() => h.connected >= 400, 20_000, 'attackers connected');
      const r = reflector;
      await waitUntil(async () => (await metric('file_full')) > 0, 20_000, 'file_full refusals counted');

      const data = deterministicBytes(300_000, 0x11);
      const src = join(dir, 'minutes.bin');
      writeFileSync(src, data);
      const sender = startClient({ server: REFLECTOR, local: PARTICIPANT, session: 'talking', args: ['--send-file', src], cwd: dir, waitMs: 20_000, stepTimeoutS: 20 });
      children.push(sender);
      const s = await sender.done();
      expect(s.code, sender.output()).to.equal(0);
      expect(s.summary.sendFile).to.include({ size: data.length, sha256: sha256(data), verified: true });
      // The attack went on during the upload: the holders were at the limit the whole time.
      expect(h.sockets.size).to.be.greaterThan(380);

      const refused = await metric('file_full');
      expect(refused).to.be.greaterThan(0);
      // Logged, but rate-limited: one line per reason per 10 s, never one per refusal.
      const lines = r.logs.filter((l) => l.event === 'file_connection_refused' && l.reason === 'file_full');
      expect(lines.length).to.be.within(1, 3);
      expect(refused).to.be.greaterThan(lines.length);
    });
  });

  describe('FileServer and ShareHub with small limits', () => {
    const h = useProxyHarness();

    it('file port full: a participant evicts the oldest unauthenticated unknown connection and is served', async () => {
      const { spool } = await h.spool({ maxBytes: 1024 });
      const lines: { event: string; reason?: string }[] = [];
      const log = new RateLimitedLog(createLogger('info', (l) => { lines.push(JSON.parse(l) as { event: string; reason?: string }); }), 10_000);
      const participant = '127.0.40.20';
      const { server: s, port } = await h.fileServer(spool, {
        host: REFLECTOR, port: 0, known: (ip) => ip === participant, refusalLog: log,
        tunables: { handshakeTimeoutMs: 20_000, pressureHandshakeTimeoutMs: 20_000, maxConnections: 8, reservedForKnown: 2, maxPerSource: 2, maxPendingPerSource: 2 },
      });
      // Three unknown sources, two idle connections each: the 6 unknown places are taken.
      const unknown: { closed: () => boolean }[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) unknown.push(await h.idle(REFLECTOR, port, `127.0.42.${i + 1}`));
      await waitUntil(() => s.connections === 6, 5000, 'six admitted');
      // A fourth unknown source is refused (the rest is reserved), counted and logged.
      const late = await h.idle(REFLECTOR, port, '127.0.42.9');
      await waitUntil(() => late.closed(), 5000, 'unknown refused');
      expect(s.drops.get('file_full')).to.equal(1);
      // The participant fills the two reserved places, then a third connection evicts the oldest unknown one.
      await h.idle(REFLECTOR, port, participant);
      await h.idle(REFLECTOR, port, participant);
      await waitUntil(() => s.connections === 8, 5000, 'eight admitted');
      const r = await within(rawExchange(REFLECTOR, port, `GET 1 ${'0'.repeat(32)}\n`, h.sockets, participant), 5000, 'participant answered');
      expect(r.received).to.equal('ERR denied\n');
      expect(s.drops.get('file_evicted')).to.equal(1);
      expect(unknown[0]?.closed()).to.equal(true);
      expect(unknown.slice(1).every((u) => !u.closed())).to.equal(true);
      expect(lines.filter((l) => l.event === 'file_connection_refused').map((l) => l.reason)).to.have.members(['file_full', 'file_evicted']);
    });

    it('under pressure an unknown source gets the short first-line deadline; a known one the normal one', async () => {
      const { spool } = await h.spool({ maxBytes: 1024 });
      const participant = '127.0.40.21';
      const { server, port } = await h.fileServer(spool, {
        host: REFLECTOR, port: 0, known: (ip) => ip === participant,
        tunables: { handshakeTimeoutMs: 20_000, pressureHandshakeTimeoutMs: 300, maxConnections: 8, reservedForKnown: 2, maxPerSource: 4, maxPendingPerSource: 4 },
      });
      // Three unknown connections: half of the 6 unknown places, so the next unknown one is under pressure.
      const early = [];
      for (let i = 0; i < 3; i++) early.push(await h.idle(REFLECTOR, port, '127.0.42.30'));
      const pressed = await h.idle(REFLECTOR, port, '127.0.42.31');
      const known = await h.idle(REFLECTOR, port, participant);
      await waitUntil(() => pressed.closed(), 5000, 'pressured unknown connection timed out');
      expect(server.drops.get('file_handshake_timeout')).to.equal(1);
      expect(known.closed()).to.equal(false);
      expect(early.every((e) => !e.closed())).to.equal(true);
    });

    it('share port: refusals beyond the per-source limit are counted; a participant viewer still gets in when full', async () => {
      const participant = '127.0.40.22';
      const hub = h.shareHub({
        host: REFLECTOR, serverPorts: { first: 47420, last: 47421 }, clientPorts: { first: 47422, last: 47423 },
        known: (ip) => ip === participant,
        tunables: { handshakeTimeoutMs: 20_000, pressureHandshakeTimeoutMs: 20_000, maxConnectionsPerPort: 8, reservedForKnown: 2, maxPerSource: 2, maxPendingPerSource: 2 },
      });
      const share = await hub.createLocal({ id: 4711, session: 's', title: 't', sharer: 'u', passkey: newPasskey() });
      expect(share).to.not.equal(null);
      if (share === null) return;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) await h.idle(REFLECTOR, share.clientPort, `127.0.43.${i + 1}`);
      const third = await h.idle(REFLECTOR, share.clientPort, '127.0.43.1');
      await waitUntil(() => third.closed(), 5000, 'third connection of one source refused');
      expect(hub.drops.get('share_too_many_pending')).to.equal(1);
      for (let j = 0; j < 2; j++) await h.idle(REFLECTOR, share.clientPort, participant);
      const viewer = await h.idle(REFLECTOR, share.clientPort, participant);
      viewer.sock.write(`VIEW 4711 ${share.info.passkey.toString('hex')}\n`);
      await waitUntil(() => share.snapshot().viewers === 1, 5000, 'participant viewer admitted');
      expect(hub.drops.get('share_evicted')).to.equal(1);
    });
  });
});
