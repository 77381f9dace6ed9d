/**
 * Runs Debian's Kamailio 5.6 in the foreground with the SHIPPED configuration
 * (deploy/kamailio/kamailio.cfg, unchanged): the test only sets the config's
 * documented parameters with `-A NAME=value` (listen address, dispatcher list,
 * control socket) and writes the dispatcher list into a temp dir. Stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { watchChild } from './watched-child.js';

/** deploy/kamailio/kamailio.cfg of the source tree (not copied to dist). */
export const KAMAILIO_CFG = fileURLToPath(new URL('../../../deploy/kamailio/kamailio.cfg', import.meta.url));

export function kamailioAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v kamailio && command -v kamcmd && test -f /usr/lib/x86_64-linux-gnu/kamailio/modules/dispatcher.so'], { encoding: 'utf8' }).status === 0;
}

export interface KamailioOptions {
  readonly listenIp: string;
  /** Reflector SIP URIs of destination set 1, e.g. `sip:127.0.50.11:5060`. */
  readonly reflectors: readonly string[];
  /** Extra `-A` defines (e.g. `WITH_AUTH`, `AUTH_DB_DIR="text:///dir"`). */
  readonly defines?: readonly string[];
  /** db_text tables (file name → content) written into a temp dir that AUTH_DB_DIR then names. */
  readonly dbText?: Readonly<Record<string, string>>;
}

export interface DispatcherTarget {
  readonly uri: string;
  /** kamcmd flags, e.g. `AP` (active, probing), `IP` (inactive), `TP` (trying). */
  readonly flags: string;
}

export interface Kamailio {
  readonly proc: ChildProcess;
  readonly dir: string;
  output(): string;
  /** Resolves when the output contains a line matching `re` (past or future). */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<string>;
  /** `kamcmd dispatcher.list`, parsed. */
  dispatcherList(): DispatcherTarget[];
  stop(): Promise<void>;
}

const running = new Set<Kamailio>();

export async function startKamailio(o: KamailioOptions): Promise<Kamailio> {
  if (!kamailioAvailable()) throw new Error('kamailio (with kamcmd and the dispatcher module) is not installed (apt-get install kamailio)');
  const dir = mkdtempSync(join(tmpdir(), 'kam-'));
  const list = join(dir, 'dispatcher.list');
  writeFileSync(list, o.reflectors.map((uri) => `1 ${uri} 0 0\n`).join(''));
  const defines = [...(o.defines ?? [])];
  if (o.dbText !== undefined) {
    const db = join(dir, 'db');
    mkdirSync(db);
    for (const [name, text] of Object.entries(o.dbText)) writeFileSync(join(db, name), text);
    defines.push(`AUTH_DB_DIR="text://${db}"`);
  }
  const ctl = `unix:${join(dir, 'ctl')}`;
  const args = [
    '-DD', '-E', '-f', KAMAILIO_CFG, '-Y', dir, '-n', '2', '-m', '32', '-M', '8',
    '-A', `LISTEN_IP=${o.listenIp}`, '-A', `DISPATCHER_LIST="${list}"`, '-A', `CTL_SOCKET="${ctl}"`,
    ...defines.flatMap((d) => ['-A', d]),
  ];
  const proc = spawn('kamailio', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = watchChild(proc, 2_000_000);
  let stopped = false;
  const k: Kamailio = {
    proc, dir,
    output: () => `kamailio ${args.join(' ')}\n${child.text().slice(-20_000)}`,
    waitForOutput(re, timeoutMs) {
      return child.waitFor((out) => out.split('\n').find((l) => re.test(l)), timeoutMs, {
        exited: () => `kamailio exited before ${re}:\n${k.output()}`,
        timeout: () => `kamailio: ${re} not within ${timeoutMs} ms:\n${k.output()}`,
      });
    },
    dispatcherList() {
      const r = spawnSync('kamcmd', ['-s', ctl, 'dispatcher.list'], { encoding: 'utf8', timeout: 5000 });
      const targets: DispatcherTarget[] = [];
      let uri: string | undefined;
      for (const line of r.stdout.split('\n')) {
        const u = /^\s*URI:\s*(\S+)/.exec(line);
        if (u !== null) { uri = u[1]; continue; }
        const f = /^\s*FLAGS:\s*(\S+)/.exec(line);
        if (f !== null && uri !== undefined) { targets.push({ uri, flags: f[1] ?? '' }); uri = undefined; }
      }
      return targets;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await child.stop([[0, 'SIGTERM'], [3000, 'SIGKILL']]);
      running.delete(k);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(k);
  // Ready when Kamailio answers an OPTIONS addressed to itself (the config answers those locally).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new SipUdpClient({ localAddress: o.listenIp, server: o.listenIp, serverPort: 5060 });
    try {
      await probe.bind();
      const res = await probe.options();
      if (res.status === 200) break;
      throw new Error(`OPTIONS to kamailio answered ${res.status}`);
    } catch (err) {
      if (child.exited() || Date.now() > deadline) {
        await k.stop();
        throw new Error(`kamailio did not come up (${err instanceof Error ? err.message : String(err)}):\n${k.output()}`);
      }
    } finally {
      probe.close();
    }
  }
  return k;
}

export async function stopAllKamailio(): Promise<void> {
  await Promise.all([...running].map((k) => k.stop()));
}
