/**
 * Runs a real SIPp process for one scenario and returns its exit code and
 * output. Bounded: killed (by PID) after `timeoutMs`; `killAll()` for afterEach.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/interop/sipp (the XML files are not copied to dist). */
export const SCENARIO_DIR = fileURLToPath(new URL('../../../test/interop/sipp/', import.meta.url));

export interface SippResult {
  readonly code: number | null;
  readonly output: string;
}

export interface SippOptions {
  readonly scenario: string;
  readonly remote: string;
  readonly localIp: string;
  readonly port: number;
  readonly controlPort: number;
  readonly mediaPort: number;
  readonly service: string;
  readonly transport?: 'u1' | 't1';
  readonly auth?: { user: string; password: string; uri: string };
  readonly extra?: readonly string[];
  readonly timeoutMs?: number;
}

const running = new Set<ChildProcess>();

export function sippAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' }).status === 0;
}

export async function runSipp(o: SippOptions): Promise<SippResult> {
  if (!sippAvailable()) throw new Error('sipp is not on PATH (install sip-tester)');
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const args = [
    o.remote, '-sf', join(SCENARIO_DIR, o.scenario), '-s', o.service,
    '-i', o.localIp, '-p', String(o.port), '-cp', String(o.controlPort),
    '-mi', o.localIp, '-mp', String(o.mediaPort),
    '-m', '1', '-l', '1', '-t', o.transport ?? 'u1',
    '-timeout', `${Math.ceil((o.timeoutMs ?? 20000) / 1000)}s`, '-timeout_error',
    '-trace_err', '-trace_msg', '-nostdin',
    ...(o.auth ? ['-au', o.auth.user, '-ap', o.auth.password, '-auth_uri', o.auth.uri] : []),
    ...(o.extra ?? []),
  ];
  const proc = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (c: string) => { if (out.length < 200_000) out += c; });
  proc.stderr?.on('data', (c: string) => { if (out.length < 200_000) out += c; });
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => { proc.kill('SIGKILL'); }, (o.timeoutMs ?? 20000) + 5000);
    proc.on('error', (e) => { out += `\nspawn error: ${e.message}`; });
    proc.on('close', (c) => { clearTimeout(t); running.delete(proc); resolve(c); });
  });
  let traces = '';
  try {
    for (const f of readdirSync(dir)) {
      if (f.endsWith('_errors.log') || f.endsWith('_messages.log')) traces += `\n--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-20000)}`;
    }
  } catch { /* no traces */ }
  rmSync(dir, { recursive: true, force: true });
  return { code, output: `sipp ${args.join(' ')}\nexit ${code}\n${out.slice(-10000)}${traces}` };
}

export function killAllSipp(): void {
  for (const p of running) { if (p.pid !== undefined) p.kill('SIGKILL'); }
  running.clear();
}
