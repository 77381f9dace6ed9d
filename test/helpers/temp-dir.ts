/**
 * Temporary directories for tests: one per test (or per suite) created by a
 * mocha hook and removed after it, or one around a single callback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the system temp dir, named `prefix` + random suffix. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface TempDirOptions {
  /** 'each' (default): a new directory for every test; 'all': one for the suite. */
  readonly scope?: 'each' | 'all';
  /** Runs in the creating hook, e.g. to write fixtures into the directory. */
  readonly setup?: (dir: string) => void;
}

/**
 * Registers hooks in the current describe() that create a temp directory before
 * each test (or once) and remove it after. Returns the current directory's path.
 */
export function useTempDir(prefix: string, opts: TempDirOptions = {}): () => string {
  let dir = '';
  const create = (): void => {
    dir = makeTempDir(prefix);
    opts.setup?.(dir);
  };
  const remove = (): void => {
    if (dir !== '') removeDir(dir);
    dir = '';
  };
  if (opts.scope === 'all') {
    before(create);
    after(remove);
  } else {
    beforeEach(create);
    afterEach(remove);
  }
  return () => {
    if (dir === '') throw new Error(`useTempDir(${prefix}): no directory outside a test`);
    return dir;
  };
}

/** Runs `fn` with a fresh temp directory and removes it afterwards, whatever `fn` does. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    removeDir(dir);
  }
}
