/**
 * The README's file-transfer example, run exactly as written (the shell block after the
 * `readme-file-transfer` marker, byte for byte) against a reflector on built-in defaults, as
 * `npm start` runs it. The README's commands use 127.0.0.1 and the default ports, so the test gives
 * them a network namespace of their own (phones-readme-<pid>, loopback only, removed afterwards),
 * and a scratch directory with `dist` linked to the build and a random `slides.pdf`.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../helpers/node-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NS = `phones-readme-${process.pid}`;

/** The shell block after the marker comment in README.md. */
export function readmeBlock(marker: string): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = text.indexOf(`<!-- ${marker}`);
  if (at < 0) throw new Error(`README.md has no ${marker} marker`);
  const m = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (m === null) throw new Error(`no sh block after the ${marker} marker`);
  return m[1];
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

describe('README: the file-transfer example works as written', function () {
  this.timeout(90_000);
  let dir = '';
  let reflector: ChildProcess | null = null;
  let nsCreated = false;

  afterEach(async () => {
    if (reflector !== null && reflector.exitCode === null) {
      const p = reflector;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    reflector = null;
    if (nsCreated) spawnSync('ip', ['netns', 'del', NS], { timeout: 10_000 });
    nsCreated = false;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('receiver first, then the sender: received.pdf is slides.pdf', async () => {
    const block = readmeBlock('readme-file-transfer');
    expect(block).to.include('--send-file slides.pdf');
    ip(['netns', 'add', NS]);
    nsCreated = true;
    ip(['-n', NS, 'link', 'set', 'lo', 'up']);
    dir = mkdtempSync(join(tmpdir(), 'readme-'));
    symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'));
    const slides = randomBytes(300_000);
    writeFileSync(join(dir, 'slides.pdf'), slides);

    // The reflector on built-in defaults (no config file in the directory), as `npm start` runs it.
    const proc = spawnNode([join(ROOT, 'dist', 'src', 'main.js')], NS, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    reflector = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`reflector not ready:\n${log}`)), 20_000);
      const onData = (c: Buffer): void => {
        log += c.toString();
        if (log.includes('"event":"ready"')) {
          clearTimeout(t);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`reflector exited ${code}:\n${log}`));
      });
    });

    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const sh = spawn('ip', ['netns', 'exec', NS, 'sh', '-e', '-c', block], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      sh.stdout.on('data', (c: Buffer) => (out += c.toString()));
      sh.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const t = setTimeout(() => sh.kill('SIGKILL'), 70_000);
      sh.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, out });
      });
    });
    const summaries = `receiver: ${safeRead(join(dir, 'receiver.json'))}\nsender: ${safeRead(join(dir, 'sender.json'))}\nreflector:\n${log.slice(-3000)}`;
    expect(r.code, `${r.out}\n${summaries}`).to.equal(0);
    expect(r.out).to.include('received.pdf is slides.pdf');
    expect(readFileSync(join(dir, 'received.pdf')).equals(slides)).to.equal(true);
  });
});

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '(none)';
  }
}
