/**
 * tools/client against a real reflector process (SPEC §7–§9, §11): the built CLI
 * shares stdin to a viewer, sends a file to two downloaders (one resuming at an
 * offset), and reports an RFLX ERROR answer with a non-zero exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CLIENT_JS, bounded, deterministicBytes, killChildren, sha256, startClient, type ClientProcess } from '../helpers/client-cli.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';

const REFLECTOR = '127.0.11.2';
const WAIT_MS = 20_000;


describe('tools/client share and file transfer (real reflector, built CLI)', function () {
  this.timeout(90_000);
  let reflector: ReflectorProcess | undefined;
  let dir = '';
  const children: ChildProcess[] = [];

  function client(local: string, session: string, args: string[]): ClientProcess {
    const c = startClient({ server: REFLECTOR, local, session, args, cwd: dir, waitMs: WAIT_MS, stepTimeoutS: 20 });
    children.push(c.proc);
    return c;
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
    await killChildren(children);
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
      '--timeout', '--video', '--share', '--title', '--view', '--share-id', '--send-file', '--get-file', '--file-id', '--out', '--offset', '--help']) {
      expect(text).to.include(opt);
    }
    const bad = spawn(process.execPath, [CLIENT_JS, '--server', REFLECTOR, '--session', 's', '--view', '--send-file', 'x'], { stdio: 'ignore' });
    children.push(bad);
    const badCode = await bounded(new Promise<number | null>((resolve) => bad.once('exit', resolve)), WAIT_MS, 'bad-args exit', () => '');
    expect(badCode).to.equal(2);
  });
});
