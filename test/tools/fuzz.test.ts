/**
 * The fuzzing tool (tools/fuzz.ts) as a CI smoke: every target, a fixed seed,
 * a few thousand mutated inputs each: no exception, no amplification, no input
 * that stays slow. The long runs (10^6 inputs per target) are made outside CI
 * (docs/operations.md, "Fuzzing"). Also the CLI itself: --list, a run, and a
 * bad target.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAuthorization, parseChallenge } from '../../src/sip/uas/digest.js';
import { fuzzTarget } from '../../tools/fuzz.js';
import { TARGETS } from '../../tools/fuzz/targets.js';

const FUZZ_JS = fileURLToPath(new URL('../../tools/fuzz.js', import.meta.url));
const SMOKE_RUNS = 3000;
const SMOKE_SEED = 20261204;

describe('tools/fuzz: smoke of every parser (fixed seed)', function () {
  this.timeout(120_000);

  it('covers every parser named by issue 11', () => {
    expect(TARGETS.map((t) => t.name)).to.include.members(['sip', 'sdp', 'rtp', 'rtcp', 'rflx', 'stun', 'relay', 'tcp-line', 'config', 'digest']);
  });

  for (const target of TARGETS) {
    it(`${target.name}: ${SMOKE_RUNS} inputs, no exception, output within bounds`, () => {
      // slowMs is generous: CI machines are shared; a pathological input (like the digest one below) takes seconds.
      const { report, findings } = fuzzTarget(target, { runs: SMOKE_RUNS, seed: SMOKE_SEED, maxLen: 8192, slowMs: 2000 });
      expect(findings.map((f) => `${f.kind}: ${f.detail}`)).to.deep.equal([]);
      expect(report.runs).to.equal(SMOKE_RUNS);
      // The feedback found more than one outcome: the mutations reach past the first check.
      expect(report.labels).to.be.greaterThan(2);
    });
  }

  it('the CLI lists the targets, runs one with a JSON report, and refuses an unknown one', () => {
    const list = spawnSync(process.execPath, [FUZZ_JS, '--list'], { encoding: 'utf8', timeout: 30_000 });
    expect(list.status).to.equal(0);
    expect(list.stdout).to.match(/^sip\t/m);
    const dir = mkdtempSync(join(tmpdir(), 'fuzz-cli-'));
    try {
      const run = spawnSync(process.execPath, [FUZZ_JS, '--target', 'rtp,stun', '--runs', '500', '--seed', '5', '--findings', dir], { encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stderr).to.equal(0);
      const reports = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { target: string; runs: number; findings: number });
      expect(reports.map((r) => [r.target, r.runs, r.findings])).to.deep.equal([['rtp', 500, 0], ['stun', 500, 0]]);
      const bad = spawnSync(process.execPath, [FUZZ_JS, '--target', 'nope'], { encoding: 'utf8', timeout: 30_000 });
      expect(bad.status).to.equal(2);
      expect(bad.stderr).to.match(/unknown target nope/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fuzz findings turned into regression tests', () => {
  it('digest: a 60 KB Authorization / WWW-Authenticate of letters without "=" is read in one pass (was quadratic: ~0.5 s per 8 KB)', function () {
    // With the former global-regex scan this input took tens of seconds (over the mocha timeout); now it is linear.
    this.timeout(10_000);
    const junk = 'pa'.repeat(30_000);
    const creds = parseAuthorization(`Digest username="alice", realm="r", nonce="n", uri="sip:x", response="0", ${junk}`);
    expect(creds.map((c) => c.username)).to.deep.equal(['alice']);
    const ch = parseChallenge(`Digest realm="s", nonce="n", algorithm=SHA-256, qop="auth", stale=true, ${junk}`);
    expect(ch).to.deep.include({ realm: 's', nonce: 'n', algorithm: 'SHA-256', stale: true });
    // Pairs after an unreadable piece are still read (the scan resumes at the next comma).
    expect(parseChallenge('Digest realm="r", ###, nonce="n"')).to.deep.include({ realm: 'r', nonce: 'n' });
  });
});
