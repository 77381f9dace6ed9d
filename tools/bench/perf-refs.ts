/**
 * The measuring stick of /work/shared/perf (README there): the C load harness
 * `participants.c`, the C reference reflector `reflector.c` and the naive
 * node:dgram loop `reflector-naive.js`. They are not copied into this
 * repository: they are compiled at run time from `../shared/perf/` (relative
 * to the repository root) into `.tmp/perf/` with `cc -O2`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { perfBuildDir, repoRoot, sharedPerfDir } from './paths.js';

export interface PerfRefs {
  /** Directory the sources came from. */
  readonly sourceDir: string;
  /** Compiled harness, or undefined with the reason in `missing`. */
  readonly participants?: string;
  /** Compiled C reference reflector. */
  readonly reflectorC?: string;
  /** The naive node:dgram reflector script. */
  readonly reflectorNaive?: string;
  /** Human-readable reasons for whatever is missing. */
  readonly missing: readonly string[];
}

function newer(a: string, b: string): boolean {
  return statSync(a).mtimeMs > statSync(b).mtimeMs;
}

function compile(src: string, out: string): string | null {
  if (existsSync(out) && !newer(src, out)) return null;
  const r = spawnSync('cc', ['-O2', '-o', out, src], { encoding: 'utf8' });
  if (r.error) return `cc not runnable: ${r.error.message}`;
  if (r.status !== 0) return `cc -O2 ${src} failed: ${(r.stderr || '').slice(0, 500)}`;
  return null;
}

/** Compiles what is there (only when the source is newer than the binary). */
export function buildPerfRefs(root: string = repoRoot()): PerfRefs {
  const sourceDir = sharedPerfDir(root);
  const missing: string[] = [];
  if (!existsSync(sourceDir)) {
    return { sourceDir, missing: [`${sourceDir} is absent: no load harness and no reference reflectors`] };
  }
  const outDir = perfBuildDir(root);
  mkdirSync(outDir, { recursive: true });
  const result: { participants?: string; reflectorC?: string; reflectorNaive?: string } = {};
  const harnessSrc = join(sourceDir, 'participants.c');
  if (existsSync(harnessSrc)) {
    const out = join(outDir, 'participants');
    const err = compile(harnessSrc, out);
    if (err === null) result.participants = out;
    else missing.push(err);
  } else {
    missing.push(`${harnessSrc} is absent`);
  }
  const cSrc = join(sourceDir, 'reflector.c');
  if (existsSync(cSrc)) {
    const out = join(outDir, 'reflector');
    const err = compile(cSrc, out);
    if (err === null) result.reflectorC = out;
    else missing.push(err);
  } else {
    missing.push(`${cSrc} is absent: no C reference`);
  }
  const naive = join(sourceDir, 'reflector-naive.js');
  if (existsSync(naive)) result.reflectorNaive = naive;
  else missing.push(`${naive} is absent: no naive node:dgram baseline`);
  return { sourceDir, ...result, missing };
}
