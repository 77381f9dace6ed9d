/**
 * tools/client against a real reflector process (SPEC §7–§9, §11): the built CLI
 * shares stdin to a viewer, sends a file to two downloaders (one resuming at an
 * offset), and reports an RFLX ERROR answer with a non-zero exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';

const CLIENT_JS = fileURLToPath(new URL('../../tools/client.js', import.meta.url));
const REFLECTOR = '127.0.11.2';
const WAIT_MS = 20_000;

interface ClientResult {
  readonly code: number | null;
  readonly summary: Record<string, unknown>;
}

interface ClientProcess {
  readonly proc: ChildProcess;
  /** Resolves with the first progress event (stderr JSON line) matching `pred`. */
  event(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code and the parsed stdout summary. */
  done(timeoutMs?: number): Promise<ClientResult>;
  output(): string;
}

/** A deterministic pseudo-random buffer (xorshift32), so a failure can be reproduced. */
function deterministicBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function bounded<T>(p: Promise<T>, timeoutMs: number, what: string, output: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not within ${timeoutMs} ms; output:\n${output().slice(-3000)}`)), timeoutMs);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

describe('tools/client share and file transfer (real reflector, built CLI)', function () {
  this.timeout(90_000);
  let reflector: ReflectorProcess | undefined;
  let dir = '';
  let children: ChildProcess[] = [];

  function client(local: string, session: string, args: string[]): ClientProcess {
    const proc = spawn(process.execPath, [CLIENT_JS, '--server', `${REFLECTOR}:5060`, '--session', session, '--local', local, '--timeout', '20', ...args], {
      cwd: dir, stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(proc);
    let stdout = '';
    let stderr = '';
    let partial = '';
    const events: Record<string, unknown>[] = [];
    const waiters = new Set<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }>();
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    proc.stdout?.on('data', (c: string) => { if (stdout.length < 1_000_000) stdout += c; });
    proc.stderr?.on('data', (c: string) => {
      if (stderr.length < 1_000_000) stderr += c;
      partial += c;
      for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        let e: unknown;
        try { e = JSON.parse(line); } catch { continue; }
        if (typeof e !== 'object' || e === null) continue;
        const rec = e as Record<string, unknown>;
        events.push(rec);
        for (const w of [...waiters]) if (w.pred(rec)) { waiters.delete(w); w.resolve(rec); }
      }
    });
    const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code))); // close: stdout fully read
    const output = (): string => `stdout: ${stdout}\nstderr: ${stderr}`;
    return {
      proc,
      output,
      event(pred, timeoutMs = WAIT_MS) {
        const seen = events.find(pred);
        if (seen !== undefined) return Promise.resolve(seen);
        let w: { pred: typeof pred; resolve: (e: Record<string, unknown>) => void } | undefined;
        const p = new Promise<Record<string, unknown>>((resolve) => { w = { pred, resolve }; waiters.add(w); });
        return bounded(p, timeoutMs, 'client progress event', output).finally(() => { if (w !== undefined) waiters.delete(w); });
      },
      async done(timeoutMs = WAIT_MS) {
        const code = await bounded(exited, timeoutMs, 'client exit', output);
        const line = stdout.trim().split('\n').pop() ?? '';
        let summary: Record<string, unknown>;
        try { summary = JSON.parse(line) as Record<string, unknown>; } catch { throw new Error(`no JSON summary; ${output()}`); }
        return { code, summary };
      },
    };
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'client-share-file-'));
    // The reflector does not create FILE_SPOOL_DIR (a missing one answers ERROR 507 "spool full").
    mkdirSync(join(dir, 'spool'));
    reflector = await startReflector({
      config: baseConfig(REFLECTOR, [
        `FILE_SPOOL_DIR ${join(dir, 'spool')}`,
        'FILE_MAX_BYTES 3M',
        'APPSHARE_SERVER_PORTS 47110-47119',
        'APPSHARE_CLIENT_PORTS 47120-47129',
      ].join('\n')),
    });
  });

  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null
      ? new Promise<void>((resolve) => c.once('exit', () => resolve()))
      : Promise.resolve())));
    children = [];
    await reflector?.stop();
    reflector = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('shares ~2 MB from stdin; the viewer writes exactly those bytes to --out', async () => {
    const data = deterministicBytes(2_000_000 + 123, 0x5eed);
    const viewer = client('127.0.11.3', 'share room', ['--view', '--out', join(dir, 'viewed.bin')]);
    await viewer.event((e) => e.event === 'joined');
    const sharer = client('127.0.11.4', 'share room', ['--share', '-', '--title', 'slides']);
    const sharing = await sharer.event((e) => e.event === 'sharing');
    const viewing = await viewer.event((e) => e.event === 'viewing');
    expect(viewing.shareId).to.equal(sharing.shareId);
    sharer.proc.stdin?.end(data);

    const s = await sharer.done();
    const v = await viewer.done();
    expect(s.code, sharer.output()).to.equal(0);
    expect(v.code, viewer.output()).to.equal(0);
    const share = s.summary.share as Record<string, unknown>;
    expect(share).to.include({ shareId: sharing.shareId, title: 'slides', bytes: data.length, sha256: sha256(data) });
    const view = v.summary.view as Record<string, unknown>;
    expect(view).to.include({ shareId: sharing.shareId, title: 'slides', bytes: data.length, sha256: sha256(data), ended: true });
    expect(sha256(readFileSync(join(dir, 'viewed.bin')))).to.equal(sha256(data));
  });

  it('sends a file; two downloaders (one resuming at --offset) end with the same SHA-256', async () => {
    const data = deterministicBytes(2_000_000, 0xf11e);
    const src = join(dir, 'report.bin');
    writeFileSync(src, data);
    const offset = 777_777;
    const partial = join(dir, 'resumed.bin');
    writeFileSync(partial, data.subarray(0, offset));
    // Downloaders join first: the file lives as long as the session has participants.
    const whole = client('127.0.11.5', 'files', ['--get-file', '--out', join(dir, 'whole.bin')]);
    const resumed = client('127.0.11.6', 'files', ['--get-file', '--out', partial, '--offset', String(offset)]);
    await whole.event((e) => e.event === 'joined');
    await resumed.event((e) => e.event === 'joined');
    const sender = client('127.0.11.7', 'files', ['--send-file', src]);

    const s = await sender.done();
    expect(s.code, sender.output()).to.equal(0);
    const sent = s.summary.sendFile as Record<string, unknown>;
    expect(sent).to.include({ name: 'report.bin', size: data.length, sha256: sha256(data), verified: true });

    const w = await whole.done();
    expect(w.code, whole.output()).to.equal(0);
    expect(w.summary.getFile).to.include({ fileId: sent.fileId, name: 'report.bin', size: data.length, offset: 0, bytes: data.length, sha256: sha256(data), verified: true });
    expect(sha256(readFileSync(join(dir, 'whole.bin')))).to.equal(sha256(data));

    const r = await resumed.done();
    expect(r.code, resumed.output()).to.equal(0);
    expect(r.summary.getFile).to.include({ fileId: sent.fileId, offset, bytes: data.length - offset, fileSha256: sha256(data), verified: true });
    expect(sha256(readFileSync(partial))).to.equal(sha256(data));
  });

  it('a file above FILE_MAX_BYTES: ERROR 413 in the JSON and a non-zero exit', async () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, deterministicBytes(3 * 1024 * 1024 + 1, 7));
    const sender = client('127.0.11.8', 'files', ['--send-file', big]);
    const r = await sender.done();
    expect(r.code, sender.output()).to.equal(1);
    expect(r.summary).to.include({ joined: true, endedBy: 'error', errorCode: 413 });
    expect(r.summary.error).to.be.a('string').and.match(/413/);
    expect(r.summary.errorReason).to.be.a('string').and.not.equal('');
    expect(r.summary.sendFile).to.equal(undefined);
  });

  it('a --get-file with --offset and no partial --out fails before any download', async () => {
    const getter = client('127.0.11.9', 'files', ['--get-file', '--out', join(dir, 'absent.bin'), '--offset', '10']);
    const r = await getter.done();
    expect(r.code, getter.output()).to.equal(1);
    expect(r.summary.error).to.be.a('string').and.match(/--offset 10/);
  });

  it('--help documents every option; conflicting actions exit 2', async () => {
    const help = spawn(process.execPath, [CLIENT_JS, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(help);
    let text = '';
    help.stdout?.setEncoding('utf8');
    help.stdout?.on('data', (c: string) => { text += c; });
    const code = await bounded(new Promise<number | null>((resolve) => help.once('close', resolve)), WAIT_MS, 'help exit', () => text);
    expect(code).to.equal(0);
    for (const opt of ['--server', '--session', '--local', '--user', '--password', '--tone', '--wav', '--duration', '--record-dir', '--mode',
      '--timeout', '--share', '--title', '--view', '--share-id', '--send-file', '--get-file', '--file-id', '--out', '--offset', '--help']) {
      expect(text).to.include(opt);
    }
    const bad = spawn(process.execPath, [CLIENT_JS, '--server', REFLECTOR, '--session', 's', '--view', '--send-file', 'x'], { stdio: 'ignore' });
    children.push(bad);
    const badCode = await bounded(new Promise<number | null>((resolve) => bad.once('exit', resolve)), WAIT_MS, 'bad-args exit', () => '');
    expect(badCode).to.equal(2);
  });
});
