/**
 * A busy port at start-up: the reflector exits 1 and says which configuration keyword owns the port
 * (on stderr and in the start_failed log line), instead of a bare EADDRINUSE.
 */
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { runNode, type NodeRun } from '../helpers/node-process.js';
import { baseConfig, MAIN_JS } from '../helpers/reflector-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

function run(config: string): Promise<NodeRun> {
  return withTempDir('bind-', (dir) => {
    const file = join(dir, 'reflector.conf');
    writeFileSync(file, config);
    return runNode(MAIN_JS, ['--config', file], { timeoutMs: 15_000 });
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

  for (const [what, ip, hold, keyword, statusPort] of [
    ['the audio port', '127.0.80.70', () => udp('127.0.80.70', 5567), 'AUDIO_PORT', undefined],
    ['the SIP port', '127.0.80.71', () => udp('127.0.80.71', 5060), 'SIP_PORT', undefined],
    ['the status port', '127.0.80.72', () => tcp('127.0.80.72', 8080), 'STATUS_LISTEN', 8080],
  ] as const) {
    it(`${what} in use: exit 1, "${keyword}" and the config file named`, async () => {
      held.push(await hold());
      const r = await run(baseConfig(ip, '', statusPort !== undefined ? { statusPort } : {}));
      expect(r.code, r.stderr + r.stdout).to.equal(1);
      expect(r.stderr).to.match(new RegExp(`EADDRINUSE[^\\n]*change ${keyword} .*reflector\\.conf`));
      const failed = r.stdout.split('\n').filter((l) => l.includes('"start_failed"')).map((l) => JSON.parse(l) as { hint?: string });
      expect(failed[0]?.hint).to.include(keyword);
    });
  }
});
