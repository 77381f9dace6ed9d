/**
 * Where things are for the benchmark tools: the repository root (found by
 * walking up from this file to the package.json named rtp-reflector), the
 * compiled core child, and the git-ignored scratch directory `.tmp/perf/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'rtp-reflector';

/** The repository root: the nearest ancestor holding package.json with name rtp-reflector. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === PACKAGE_NAME) {
          return dir;
        }
      } catch {
        // not ours, keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`bench: cannot find the ${PACKAGE_NAME} repository root above ${fileURLToPath(import.meta.url)}`);
}

/**
 * The measuring stick's sources: RR_PERF_DIR when set, else `../shared/perf` relative to the
 * repository root, else `../../shared/perf` (a git worktree one level deeper, e.g. wt/<name>);
 * the first of the latter two when neither exists.
 */
export function sharedPerfDir(root: string = repoRoot()): string {
  const env = process.env.RR_PERF_DIR;
  if (env !== undefined && env !== '') return resolve(env);
  const near = resolve(root, '..', 'shared', 'perf');
  const far = resolve(root, '..', '..', 'shared', 'perf');
  return existsSync(near) || !existsSync(far) ? near : far;
}

/** Scratch directory for compiled reference programs (git-ignored). */
export function perfBuildDir(root: string = repoRoot()): string {
  return join(root, '.tmp', 'perf');
}

/** The compiled core child script (dist/tools/bench/core-child.js). */
export function coreChildScript(root: string = repoRoot()): string {
  return join(root, 'dist', 'tools', 'bench', 'core-child.js');
}
