/**
 * A busy port at start-up: the reflector exits 1 and says which configuration keyword owns the port
 * (on stderr and in the start_failed log line), instead of a bare EADDRINUSE.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseConfig, MAIN_JS } from '../helpers/reflector-process.js';

function run(config: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bind-'));
  const file = join(dir, 'reflector.conf');
  writeFileSync(file, config);
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN_JS, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('close', (code) => {
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stderr, stdout });
    });
  });
}

function udp(address: string, port: number): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve(s));
  });
}

function tcp(address: string, port: number): Promise<Server> {
  const s = createServer();
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, address, () => resolve(s));
  });
}

describe('start-up bind errors name the keyword to change', function () {
  this.timeout(40_000);
  const held: (Socket | Server)[] = [];

  afterEach(async () => {
    for (const h of held.splice(0)) await new Promise<void>((resolve) => h.close(() => resolve()));
  });

  for (const [what, ip, hold, keyword, extra] of [
    ['the audio port', '127.0.80.70', () => udp('127.0.80.70', 5567), 'AUDIO_PORT', ''],
    ['the SIP port', '127.0.80.71', () => udp('127.0.80.71', 5060), 'SIP_PORT', ''],
    ['the status port', '127.0.80.72', () => tcp('127.0.80.72', 8080), 'STATUS_LISTEN', 'STATUS_LISTEN 127.0.80.72:8080\n'],
  ] as const) {
    it(`${what} in use: exit 1, "${keyword}" and the config file named`, async () => {
      held.push(await hold());
      let config = baseConfig(ip);
      if (extra !== '') config = config.replace('STATUS_LISTEN off\n', extra);
      const r = await run(config);
      expect(r.code, r.stderr + r.stdout).to.equal(1);
      expect(r.stderr).to.match(new RegExp(`EADDRINUSE[^\\n]*change ${keyword} .*reflector\\.conf`));
      const failed = r.stdout.split('\n').filter((l) => l.includes('"start_failed"')).map((l) => JSON.parse(l) as { hint?: string });
      expect(failed[0]?.hint).to.include(keyword);
    });
  }
});
