/**
 * Issue 5's scenario with two REAL reflector processes joined by reflector
 * interconnection (SPEC §6, §8, §9): R2 (127.0.12.2) and R1 (127.0.12.3) are
 * separate `node dist/src/main.js` processes, the clients are the built CLI
 * (`dist/tools/client.js`) as child processes. A 20 MB stdin share on R2 reaches
 * one viewer on R2 and two on R1 (through R1's proxy) byte for byte; a 50 MB file
 * sent on R1 is fetched on R2 (through R2's file relay), whole and resumed.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { bounded, deterministicBytes, killChildren, sha256, startClient, type ClientProcess } from '../helpers/client-cli.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';

const R2 = '127.0.12.2';
const R1 = '127.0.12.3';
const RELAY_PORT = 5564;
const WAIT_MS = 120_000;


/** GET http://address:8080/path, parsed as JSON, bounded. */
function getJson(address: string, path: string): Promise<unknown> {
  const p = new Promise<unknown>((resolve, reject) => {
    const req = request({ host: address, port: 8080, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        try { resolve(JSON.parse(body)); } catch (e) { reject(e instanceof Error ? e : new Error(String(e))); }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  return bounded(p, 10_000, `GET ${address}:8080${path}`, () => '');
}

/** Resolves once every file in `paths` holds at least `size` bytes; checked every 20 ms, bounded. */
function filesReach(paths: readonly string[], size: number, timeoutMs: number): Promise<void> {
  const sizeOf = (p: string): number => { try { return statSync(p).size; } catch { return 0; } };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const sizes = paths.map(sizeOf);
      if (sizes.every((n) => n >= size)) { clearInterval(timer); resolve(); return; }
      if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`viewer files did not reach ${size} bytes within ${timeoutMs} ms: ${sizes.join(', ')}`));
      }
    }, 20);
  });
}

describe('firewall pair: share and file transfer across two real reflector processes (issue 5)', function () {
  this.timeout(180_000);
  let r2: ReflectorProcess | undefined;
  let r1: ReflectorProcess | undefined;
  let dir = '';
  const children: ChildProcess[] = [];

  const reflectorOutput = (): string =>
    `--- R2 (${R2}) ---\n${(r2?.output() ?? '').slice(-6000)}\n--- R1 (${R1}) ---\n${(r1?.output() ?? '').slice(-6000)}`;

  function client(server: string, local: string, session: string, args: string[]): ClientProcess {
    const c = startClient({ server, local, session, args, cwd: dir, waitMs: WAIT_MS, stepTimeoutS: 60 });
    children.push(c.proc);
    return c;
  }

  function config(address: string, other: string, spool: string): string {
    return baseConfig(address, [
      `REFLECTOR_INTERCONNECTION ${other} ${RELAY_PORT}`,
      `FILE_SPOOL_DIR ${spool}`,
      'APPSHARE_SERVER_PORTS 47200-47219',
      'APPSHARE_CLIENT_PORTS 47220-47239',
    ].join('\n'), { statusPort: 8080 });
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'firewall-pair-share-file-'));
    // The reflector does not create FILE_SPOOL_DIR.
    mkdirSync(join(dir, 'spool-r2'));
    mkdirSync(join(dir, 'spool-r1'));
    r2 = await startReflector({ config: config(R2, R1, join(dir, 'spool-r2')) });
    r1 = await startReflector({ config: config(R1, R2, join(dir, 'spool-r1')) });
    await r2.waitForLog((r) => r.event === 'peer_up', 20_000);
    await r1.waitForLog((r) => r.event === 'peer_up', 20_000);
  });

  afterEach(async () => {
    await killChildren(children);
    await r2?.stop();
    await r1?.stop();
    r2 = undefined;
    r1 = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a 20 MB stdin share on R2 reaches a viewer on R2 and two viewers on R1 byte for byte; no share is left', async () => {
    const data = deterministicBytes(20 * 1024 * 1024, 0x15e5);
    const viewers = [
      { name: 'u2', c: client(R2, '127.0.12.11', 'weekly', ['--view', '--out', join(dir, 'u2.bin')]), out: join(dir, 'u2.bin') },
      { name: 'u3', c: client(R1, '127.0.12.12', 'weekly', ['--view', '--out', join(dir, 'u3.bin')]), out: join(dir, 'u3.bin') },
      { name: 'u4', c: client(R1, '127.0.12.13', 'weekly', ['--view', '--out', join(dir, 'u4.bin')]), out: join(dir, 'u4.bin') },
    ];
    for (const v of viewers) await v.c.event((e) => e.event === 'joined');
    const sharer = client(R2, '127.0.12.10', 'weekly', ['--share', '-', '--title', 'weekly slides']);
    const sharing = await sharer.event((e) => e.event === 'sharing');
    for (const v of viewers) {
      const viewing = await v.c.event((e) => e.event === 'viewing');
      expect(viewing.shareId, `${v.name} views the share`).to.equal(sharing.shareId);
    }
    // The reflector never slows the sharer and cuts a viewer more than 4 MiB behind (SPEC §8.4), so the
    // 20 MB go in 1 MiB steps: the next step once every viewer has written the previous one to its file.
    const stdin = sharer.proc.stdin;
    if (stdin === null) throw new Error('sharer has no stdin');
    const STEP = 1024 * 1024;
    for (let sent = 0; sent < data.length;) {
      const next = Math.min(sent + STEP, data.length);
      stdin.write(data.subarray(sent, next));
      sent = next;
      await filesReach(viewers.map((v) => v.out), sent, 30_000);
    }
    stdin.end();

    const s = await sharer.done();
    expect(s.code, sharer.output()).to.equal(0);
    expect(s.summary.share, sharer.output()).to.include({ shareId: sharing.shareId, bytes: data.length, sha256: sha256(data) });
    for (const v of viewers) {
      const r = await v.c.done();
      expect(r.code, v.c.output()).to.equal(0);
      expect(r.summary.view, `${v.name}: ${v.c.output()}`).to.include({ shareId: sharing.shareId, bytes: data.length, sha256: sha256(data), ended: true });
      expect(sha256(readFileSync(v.out)), `${v.name} output file`).to.equal(sha256(data));
    }

    // Both reflectors log the end of the share (origin on R2, peer proxy on R1), then list no share.
    const ended = (r: { event?: string; [k: string]: unknown }): boolean => r.event === 'share_ended' && r.shareId === sharing.shareId;
    await r2!.waitForLog(ended, 20_000);
    await r1!.waitForLog(ended, 20_000);
    expect(await getJson(R2, '/api/shares'), reflectorOutput()).to.deep.equal([]);
    expect(await getJson(R1, '/api/shares'), reflectorOutput()).to.deep.equal([]);
  });

  it('a 50 MB file sent on R1 is fetched on R2, whole and resumed at an offset, with the same SHA-256', async () => {
    const data = deterministicBytes(50 * 1024 * 1024, 0xf11e);
    const digest = sha256(data);
    const src = join(dir, 'minutes.bin');
    writeFileSync(src, data);
    // A plain participant on each side for the whole test: the file lives while the session has participants.
    const k2 = client(R2, '127.0.12.20', 'weekly', ['--duration', '120']);
    const k1 = client(R1, '127.0.12.21', 'weekly', ['--duration', '120']);
    const getter = client(R2, '127.0.12.10', 'weekly', ['--get-file', '--out', join(dir, 'u1.bin')]);
    await k2.event((e) => e.event === 'joined');
    await k1.event((e) => e.event === 'joined');
    await getter.event((e) => e.event === 'joined');

    const sender = client(R1, '127.0.12.12', 'weekly', ['--send-file', src]);
    const s = await sender.done();
    expect(s.code, sender.output()).to.equal(0);
    const sent = s.summary.sendFile as Record<string, unknown>;
    expect(sent, sender.output()).to.include({ name: 'minutes.bin', size: data.length, sha256: digest, verified: true });

    const g = await getter.done();
    expect(g.code, getter.output()).to.equal(0);
    expect(g.summary.getFile, getter.output()).to.include({ fileId: sent.fileId, size: data.length, offset: 0, bytes: data.length, sha256: digest, verified: true });
    expect(sha256(readFileSync(join(dir, 'u1.bin')))).to.equal(digest);

    // Resume: a copy holding only the first N bytes, completed by a later participant on R2.
    const offset = 31_415_926;
    const partial = join(dir, 'u1-resumed.bin');
    writeFileSync(partial, data.subarray(0, offset));
    const resumer = client(R2, '127.0.12.30', 'weekly', ['--get-file', '--file-id', String(sent.fileId), '--offset', String(offset), '--out', partial]);
    const r = await resumer.done();
    expect(r.code, resumer.output()).to.equal(0);
    expect(r.summary.getFile, resumer.output()).to.include({ fileId: sent.fileId, offset, bytes: data.length - offset, fileSha256: digest, verified: true });
    expect(sha256(readFileSync(partial))).to.equal(digest);

    // The keepers were still joined the whole time.
    expect(k2.proc.exitCode, k2.output()).to.equal(null);
    expect(k1.proc.exitCode, k1.output()).to.equal(null);
  });
});
