/**
 * `npm start`'s prestart (tools/prestart.mjs): no rebuild when dist/ is newer than its sources, a
 * rebuild that says why when a source changed. Run on a scratch tree with chosen mtimes (--dry-run:
 * the decision and its message, not the build).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'tools', 'prestart.mjs');

function prestart(root: string): string {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root, '--dry-run'], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).to.equal(0);
  return r.stderr.trim();
}

describe('npm start: prestart rebuilds only when dist/ is out of date', () => {
  let root = '';
  const at = (path: string, secondsAgo: number): void => {
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(join(root, path), t, t);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'prestart-'));
    for (const d of ['src/reflector/native', 'dist/src', 'dist/native']) mkdirSync(join(root, d), { recursive: true });
    for (const f of ['src/main.ts', 'src/reflector/native/mmsg.c', 'tsconfig.json', 'package.json', 'package-lock.json', 'dist/src/main.js', 'dist/native/mmsg.node']) {
      writeFileSync(join(root, f), '');
    }
    for (const f of ['src/main.ts', 'src/reflector/native/mmsg.c', 'tsconfig.json', 'package.json', 'package-lock.json']) at(f, 100);
    at('dist/src/main.js', 50);
    at('dist/native/mmsg.node', 50);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is used by npm start', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).to.equal('node tools/prestart.mjs');
  });

  it('starts without a rebuild when dist/ is newer than every source', () => {
    expect(prestart(root)).to.equal('prestart: dist/ is up to date with src/ — starting without a rebuild');
  });

  it('rebuilds, naming the file, when a source, the config or the addon source changed, or dist/ is missing', () => {
    at('src/main.ts', 10);
    expect(prestart(root)).to.match(/^prestart: src\/main\.ts changed after the last build; building first/);
    at('src/main.ts', 100);
    at('tsconfig.json', 10);
    expect(prestart(root)).to.match(/^prestart: tsconfig\.json changed/);
    at('tsconfig.json', 100);
    at('src/reflector/native/mmsg.c', 10);
    expect(prestart(root)).to.match(/^prestart: src\/reflector\/native\/mmsg\.c changed after the native addon was built/);
    at('src/reflector/native/mmsg.c', 100);
    rmSync(join(root, 'dist/src/main.js'));
    expect(prestart(root)).to.match(/^prestart: dist\/src\/main\.js is missing; building first/);
  });
});
