/**
 * Every command answers --help (usage on stdout, exit 0) and --version (the package version), and
 * tools/loadgen --server loads a running reflector through SIP with digest, reporting loss, latency
 * and join times.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from '../helpers/node-process.js';
import { baseConfig, MAIN_JS, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

const TOOLS = fileURLToPath(new URL('../../tools/', import.meta.url));
const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };

describe('commands: --help, --version; loadgen --server through SIP', function () {
  this.timeout(90_000);
  let refl: ReflectorProcess | null = null;

  afterEach(async () => {
    await refl?.stop();
    refl = null;
  });

  const commands: [string, string][] = [
    ['reflector', MAIN_JS],
    ['client', `${TOOLS}client.js`],
    ['loadgen', `${TOOLS}loadgen.js`],
    ['bench', `${TOOLS}bench.js`],
  ];
  for (const [name, script] of commands) {
    it(`${name} --help and --version`, async () => {
      const help = await runNode(script, ['--help']);
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.match(/^usage: /m);
      expect(help.stdout).to.include('--version');
      expect(help.stdout + help.stderr).to.not.match(/SPEC/);
      const version = await runNode(script, ['--version']);
      expect(version.code, version.stderr).to.equal(0);
      expect(version.stdout.trim()).to.equal(`${name} ${PKG.version}`);
    });
  }

  it('nothing a user reads cites SPEC: README, docs, reflector.conf.example, config errors', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const files = ['README.md', 'reflector.conf.example', ...readdirSync(`${root}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    for (const f of files) expect(readFileSync(`${root}${f}`, 'utf8'), f).to.not.match(/\bSPEC\b/);
    await withTempDir('nospec-', async (dir) => {
      writeFileSync(join(dir, 'r.conf'), 'AUDIO_PROT 5566\n');
      const r = await runNode(MAIN_JS, ['--check', join(dir, 'r.conf')]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/unknown keyword; expected one of the keywords listed in reflector\.conf\.example/);
      expect(r.stderr).to.include('did you mean AUDIO_PORT?');
      expect(r.stderr).to.not.match(/SPEC/);
    });
  });

  it('loadgen --server HOST loads a running reflector through SIP with digest: loss, latency and join times', async () => {
    const ip = '127.0.80.80';
    refl = await startReflector({ config: baseConfig(ip, 'SIP_AUTH on\nSIP_REALM phones\nSIP_USER load secret-1\n') });
    const r = await runNode(`${TOOLS}loadgen.js`, ['--server', ip, '--user', 'load', '--password', 'secret-1', '--bind', '127.0.80.81',
      '--sessions', '2', '--parties', '3', '--rate', '25', '--duration', '1', '--warmup', '0.2']);
    expect(r.code, r.stderr).to.equal(0);
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(line.participants).to.equal(6);
    expect(line.join_failed).to.equal(0);
    expect(line.join_statuses).to.deep.equal({ 200: 6 });
    const join = line.join_ms as { p50: number; max: number };
    expect(join.p50).to.be.greaterThan(0);
    expect(join.max).to.be.at.least(join.p50);
    expect(line.received as number).to.be.greaterThan(0);
    expect(line.loss_pct).to.be.a('number');
    expect(line.p50_ms).to.be.a('number');
    // Every participant joined and, at the end, left with a BYE.
    await refl.waitForLog((x) => x.event === 'participant_left' && x.reason === 'bye', 5000);
    expect(refl.logs.filter((x) => x.event === 'participant_joined')).to.have.length(6);
    // A wrong password: every join fails with 401/403, reported, not hidden.
    const bad = await runNode(`${TOOLS}loadgen.js`, ['--server', ip, '--user', 'load', '--password', 'wrong', '--bind', '127.0.80.82',
      '--sessions', '1', '--parties', '2', '--duration', '0.5', '--warmup', '0.1']);
    const badLine = JSON.parse(bad.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(badLine.join_failed).to.equal(2);
  });
});
