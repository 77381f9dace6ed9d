/**
 * EXPERIMENT: builds and loads the batched-I/O addon tools/native/mmsg.c
 * (Node-API, recvmmsg/sendmmsg) into .tmp/native/mmsg.node with
 * `cc -O2 -shared -fPIC -I<node headers>`. Not used by src/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { repoRoot } from '../bench/paths.js';

export interface MmsgAddon {
  readonly SLOT: number;
  readonly RB: number;
  open(address: string, port: number, rcvbufBytes: number, rxArena: Buffer, rxDesc: Int32Array, onBatch: (n: number) => void): number;
  sendBatch(fd: number, arena: Buffer, desc: Int32Array, count: number): number;
  stats(): number[];
  close(fd: number): void;
}

/** Node's include directory: <prefix>/include/node next to the running node binary, or /usr/include/node. */
function nodeIncludeDir(): string | undefined {
  const candidates = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

/** Compiles (if the source is newer) and returns the addon's path, or an error string. */
export function buildMmsgAddon(root: string = repoRoot()): { path?: string; error?: string } {
  const src = join(root, 'tools', 'native', 'mmsg.c');
  if (!existsSync(src)) return { error: `${src} is absent` };
  const inc = nodeIncludeDir();
  if (inc === undefined) return { error: 'Node headers (node_api.h) not found' };
  const outDir = join(root, '.tmp', 'native');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'mmsg.node');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return { path: out };
  const r = spawnSync('cc', ['-O2', '-Wall', '-shared', '-fPIC', `-I${inc}`, '-o', out, src], { encoding: 'utf8' });
  if (r.error) return { error: `cc not runnable: ${r.error.message}` };
  if (r.status !== 0) return { error: `cc failed: ${(r.stderr || '').slice(0, 500)}` };
  return { path: out };
}

export function loadMmsgAddon(path: string): MmsgAddon {
  const require = createRequire(import.meta.url);
  return require(path) as MmsgAddon;
}
