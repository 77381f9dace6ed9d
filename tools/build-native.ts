/**
 * `npm run build` step: compiles the reflector core's batched UDP I/O addon
 * (src/reflector/native/mmsg.c, Node-API) into dist/native/mmsg.node with
 * `cc -O2 -shared -fPIC -I<node include dir>`. Fails soft: without a compiler
 * or Node's headers it prints one line and exits 0 — the core then uses
 * node:dgram (REFLECTOR_IO=auto).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/tools/build-native.js → the repository root. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function npmNodedir(): string | undefined {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const r = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8', timeout: 10_000 });
  const out = (r.stdout ?? '').trim();
  return r.status === 0 && out !== '' && out !== 'undefined' && out !== 'null' ? out : undefined;
}

/** The directory holding node_api.h and uv.h, or undefined. */
function nodeIncludeDir(): string | undefined {
  const candidates = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  const has = (d: string): boolean => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h'));
  const found = candidates.find(has);
  if (found !== undefined) return found;
  const nodedir = npmNodedir();
  if (nodedir === undefined) return undefined;
  return [join(nodedir, 'include', 'node'), join(nodedir, 'src')].find(has);
}

function main(): void {
  const src = join(root, 'src', 'reflector', 'native', 'mmsg.c');
  const outDir = join(root, 'dist', 'native');
  const out = join(outDir, 'mmsg.node');
  // A stale addon from an older source must not outlive a build that cannot rebuild it.
  rmSync(out, { force: true });
  if (process.platform !== 'linux') {
    console.log(`build-native: skipped (recvmmsg/sendmmsg need Linux, this is ${process.platform}); the core will use node:dgram`);
    return;
  }
  const inc = nodeIncludeDir();
  if (inc === undefined) {
    console.log('build-native: skipped (Node headers node_api.h/uv.h not found); the core will use node:dgram');
    return;
  }
  mkdirSync(outDir, { recursive: true });
  const cc = process.env.CC !== undefined && process.env.CC !== '' ? process.env.CC : 'cc';
  const r = spawnSync(cc, ['-O2', '-Wall', '-pthread', '-shared', '-fPIC', `-I${inc}`, '-o', out, src], { encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined) {
    console.log(`build-native: skipped (${cc} not runnable: ${r.error.message}); the core will use node:dgram`);
    return;
  }
  if (r.status !== 0) {
    const first = (r.stderr ?? '').split('\n').find((l) => l.includes('error')) ?? `exit ${String(r.status)}`;
    console.log(`build-native: skipped (${cc} failed: ${first.trim()}); the core will use node:dgram`);
    return;
  }
  console.log(`build-native: built ${out}`);
}

try {
  main();
} catch (err) {
  console.log(`build-native: skipped (${err instanceof Error ? err.message : String(err)}); the core will use node:dgram`);
}
process.exitCode = 0;
