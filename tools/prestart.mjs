#!/usr/bin/env node
/**
 * `npm start`'s prestart step: rebuilds (npm run build: tsc + native addon) only when dist/ is older
 * than what it is built from, and says which it does and why, on stderr.
 *
 * Up to date means: dist/src/main.js exists and is newer than every src/**\/*.ts, tsconfig.json,
 * package.json and package-lock.json; and the native addon dist/native/mmsg.node, if it was built,
 * is newer than src/reflector/native/mmsg.c (the addon may be absent: its build fails soft without a C
 * compiler, and the reflector then uses node:dgram).
 *
 *   node tools/prestart.mjs [--root DIR] [--dry-run]
 *
 * Plain JavaScript, so that it runs before anything is compiled. Exit status: 0, or the build's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const root = rootArg >= 0 && args[rootArg + 1] !== undefined ? resolve(args[rootArg + 1]) : resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dryRun = args.includes('--dry-run');

/** Newest file under `dir` whose name passes `want`: [path, mtimeMs]; bounded walk. */
function newest(dir, want, best = ['', 0], depth = 0) {
  if (depth > 12 || !existsSync(dir)) return best;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) best = newest(p, want, best, depth + 1);
    else if (e.isFile() && want(e.name)) {
      const m = statSync(p).mtimeMs;
      if (m > best[1]) best = [p, m];
    }
  }
  return best;
}

function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

function decide() {
  const main = join(root, 'dist', 'src', 'main.js');
  if (!existsSync(main)) return `dist/src/main.js is missing`;
  const built = mtime(main);
  let [src, srcTime] = newest(join(root, 'src'), (n) => n.endsWith('.ts'));
  for (const f of ['tsconfig.json', 'package.json', 'package-lock.json']) {
    const t = mtime(join(root, f));
    if (t > srcTime) [src, srcTime] = [join(root, f), t];
  }
  if (srcTime > built) return `${relative(root, src)} changed after the last build`;
  const addon = join(root, 'dist', 'native', 'mmsg.node');
  const c = join(root, 'src', 'reflector', 'native', 'mmsg.c');
  if (existsSync(addon) && mtime(c) > mtime(addon)) return `${relative(root, c)} changed after the native addon was built`;
  if (!existsSync(addon) && mtime(c) > built) return `${relative(root, c)} changed after the last build`;
  return null;
}

const why = decide();
if (why === null) {
  process.stderr.write('prestart: dist/ is up to date with src/ — starting without a rebuild\n');
  process.exit(0);
}
process.stderr.write(`prestart: ${why}; building first (npm run build: TypeScript, then the native I/O addon)${dryRun ? ' [dry run]' : ''}\n`);
if (dryRun) process.exit(0);
const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
