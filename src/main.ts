#!/usr/bin/env node
/**
 * Composition root (SPEC §2): reads the configuration, builds the parts, wires
 * them, handles signals, and closes them in reverse order.
 *
 *   reflector [--config FILE] [--check [FILE]]
 *   reflector firewall-rules [--config FILE] [--format nft|iptables] ... (src/firewall/cli.ts)
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { explainBindError } from './config/bind-error.js';
import { ConfigError, checkConfigFile, formatIssue, resolveConfig } from './config/load.js';
import type { Config } from './config/types.js';
import { runFirewallRules } from './firewall/cli.js';
import { createInterconnect } from './interconnect/index.js';
import { createMixer } from './mixer/index.js';
import { createOps } from './ops/index.js';
import { createProxy } from './proxy/index.js';
import { createReflectorCore } from './reflector/index.js';
import type { Component } from './runtime/component.js';
import { createLogger, type Logger } from './runtime/logger.js';
import { createSipFrontEnd, type SipFrontEnd } from './sip/index.js';
import { VERSION } from './runtime/version.js';

const USAGE = `usage: reflector [--config FILE] [--check [FILE]]
       reflector firewall-rules [--config FILE] [--format nft|iptables] (--help for more)

  --config FILE   configuration file (default ./reflector.conf if present, else built-in defaults)
  --check [FILE]  validate the configuration, print every error, exit 0 (valid) or 1
  --version       print the version and exit
  --help          this text
`;

/** Graceful shutdown must finish within this (SPEC §2, issue: exit 0 within 5 s). */
const SHUTDOWN_DEADLINE_MS = 4500;

interface Args {
  configPath?: string;
  check: boolean;
  help: boolean;
  version: boolean;
  errors: string[];
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { check: false, help: false, version: false, errors: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' || a === '-c') {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) args.errors.push(`${a} needs a file name`);
      else { args.configPath = v; i++; }
    } else if (a.startsWith('--config=')) {
      args.configPath = a.slice('--config='.length);
    } else if (a === '--check') {
      args.check = true;
      const v = argv[i + 1];
      if (v !== undefined && !v.startsWith('--') && args.configPath === undefined) { args.configPath = v; i++; }
    } else if (a === '--help' || a === '-h') {
      args.help = true;
    } else if (a === '--version' || a === '-V') {
      args.version = true;
    } else {
      args.errors.push(`unknown argument: ${a}`);
    }
  }
  return args;
}

function runCheck(path: string | undefined): number {
  const file = path ?? 'reflector.conf';
  const issues = checkConfigFile(file);
  if (issues.length === 0) {
    process.stdout.write(`${file}: OK\n`);
    return 0;
  }
  for (const issue of issues) process.stderr.write(formatIssue(issue) + '\n');
  process.stderr.write(`${file}: ${issues.length} error${issues.length === 1 ? '' : 's'}\n`);
  return 1;
}

interface Running {
  readonly parts: { name: string; part: Component }[];
  config: Config;
  /** Drained before the parts close (DRAIN_TIMEOUT). */
  sip: SipFrontEnd | null;
}

async function startAll(config: Config, logger: Logger): Promise<Running> {
  const running: Running = { parts: [], config, sip: null };
  const core = createReflectorCore({ config, logger: logger.child({ component: 'reflector' }) });
  const interconnect = createInterconnect({ config, logger: logger.child({ component: 'interconnect' }), core });
  const mixer = createMixer({ config, logger: logger.child({ component: 'mixer' }), core });
  const proxy = createProxy({ config, logger: logger.child({ component: 'proxy' }), core, interconnect });
  const sip = createSipFrontEnd({ config, logger: logger.child({ component: 'sip' }), core });
  const ops = createOps({ config, logger: logger.child({ component: 'ops' }), core, interconnect, sip, proxy, mixer });
  const order: { name: string; part: Component }[] = [
    { name: 'reflector', part: core },
    { name: 'interconnect', part: interconnect },
    { name: 'mixer', part: mixer },
    { name: 'proxy', part: proxy },
    { name: 'sip', part: sip },
    { name: 'ops', part: ops },
  ];
  for (const entry of order) {
    try {
      await entry.part.start();
    } catch (err) {
      const hint = explainBindError(err, config);
      logger.error('start_failed', { part: entry.name, error: err instanceof Error ? err.message : String(err), ...(hint !== null ? { hint } : {}) });
      if (hint !== null) process.stderr.write(`reflector: ${hint}\n`);
      await closeAll(running, logger);
      throw err;
    }
    running.parts.push(entry);
  }
  running.sip = sip;
  return running;
}

async function closeAll(running: Running, logger: Logger): Promise<void> {
  for (const { name, part } of [...running.parts].reverse()) {
    try {
      await part.close();
    } catch (err) {
      logger.error('close_failed', { part: name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  running.parts.length = 0;
}

function reload(running: Running, configPath: string | undefined, logger: Logger): void {
  let next: Config;
  try {
    next = resolveConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) logger.error('config_error', { issue: formatIssue(issue) });
      logger.error('reload_rejected', { errors: err.issues.length, note: 'the running configuration is kept' });
    } else {
      logger.error('reload_rejected', { error: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  logger.setLevel(next.logLevel);
  for (const { name, part } of running.parts) {
    try {
      part.reload(next);
    } catch (err) {
      logger.error('reload_failed', { part: name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  running.config = next;
  logger.info('reloaded', { source: next.source ?? 'defaults' });
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'firewall-rules') {
    return runFirewallRules(argv.slice(1), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  }
  const args = parseArgs(argv);
  if (args.help) { process.stdout.write(USAGE); return 0; }
  if (args.version) { process.stdout.write(`reflector ${VERSION}\n`); return 0; }
  if (args.errors.length > 0) {
    for (const e of args.errors) process.stderr.write(`reflector: ${e}\n`);
    process.stderr.write(USAGE);
    return 2;
  }
  if (args.check) return runCheck(args.configPath);

  let config: Config;
  try {
    config = resolveConfig(args.configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(formatIssue(issue) + '\n');
      return 1;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  // Backstop for our own bugs: every socket handler already catches and counts; anything that still
  // escapes is logged and the process keeps serving its calls (systemd's Restart= is the next line).
  process.on('uncaughtException', (err) => {
    logger.error('internal_error', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
  // Signal handlers go in before anything starts: a SIGTERM that arrives during start-up or right after
  // the `ready` line must still shut down gracefully, never take the default action.
  let running: Running | null = null;
  let stopRequested: string | null = null;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => { finish = resolve; });
  let stopping = false;
  /** Set while draining (DRAIN_TIMEOUT): a second signal ends the drain at once. */
  let drain: AbortController | null = null;
  let drained = false;
  const stop = (signal: string): void => {
    if (running === null) { stopRequested ??= signal; return; }
    if (drain !== null) { drain.abort(); return; }
    if (stopping) return;
    const current = running;
    if (!drained && current.config.drainTimeoutS > 0 && current.sip !== null) {
      // Refuse new sessions (503) while the calls in progress go on, then leave as below.
      const ac = new AbortController();
      drain = ac;
      logger.info('draining', { signal, timeoutS: current.config.drainTimeoutS, calls: current.sip.stats().dialogs ?? 0 });
      void current.sip.drain(current.config.drainTimeoutS * 1000, ac.signal).then((result) => {
        drain = null;
        drained = true;
        logger.info('drained', { result });
        stop(signal);
      });
      return;
    }
    stopping = true;
    logger.info('shutdown', { signal });
    const deadline = setTimeout(() => {
      logger.error('shutdown_deadline', { ms: SHUTDOWN_DEADLINE_MS });
      finish(0);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    void closeAll(current, logger).then(() => {
      clearTimeout(deadline);
      logger.info('stopped', {});
      finish(0);
    });
  };
  const onHup = (): void => { if (running !== null && !stopping) reload(running, args.configPath, logger); };
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);

  try {
    running = await startAll(config, logger);
  } catch {
    return 1;
  }
  logger.info('ready', {
    reflectorId: config.reflectorId,
    config: config.source ?? 'defaults',
    listen: config.listenAddress,
    public: config.publicAddress,
    sipPort: config.sipPort,
    audioPort: config.audioPort,
    videoPort: config.videoPort,
    peers: config.peers.length,
    status: config.statusListen ? `${config.statusListen.address}:${config.statusListen.port}` : 'off',
    pid: process.pid,
  });
  if (stopRequested !== null) stop(stopRequested);
  return await done;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; setImmediate(() => process.exit(code)); },
    (err: unknown) => {
      process.stderr.write(`reflector: fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
