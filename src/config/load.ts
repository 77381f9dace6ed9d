/**
 * Loading the configuration (SPEC §2, §3): file → lines → keyword values →
 * `configSchema` → one deep-frozen `Config`. The only code that reads the
 * configuration file and SIP_USERS_FILE. Every defect becomes a ConfigIssue
 * with FILE:LINE; nothing here throws except `loadConfigFile`/`resolveConfig`,
 * which throw one ConfigError carrying all of them.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ConfigIssue } from './issue.js';
import { MAX_CONFIG_BYTES, parseConfigLines, tokenizeLines } from './line-parser.js';
import { CONFIG_KEYWORDS, REPEATABLE_KEYWORDS, builtInDefaults, configSchema, deepFreeze, isKeyword, resolveConfigPath } from './schema.js';
import type { Config } from './types.js';

export { formatIssue, type ConfigIssue } from './issue.js';

/** Thrown by loadConfigFile / resolveConfig; `issues` holds every defect found, in file and line order. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const first = issues[0];
    const where = first === undefined ? 'configuration' : `${first.file}:${first.line}`;
    super(`invalid configuration (${issues.length} error${issues.length === 1 ? '' : 's'}, first at ${where})`);
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }
}

/** The default file looked for when no --config is given (SPEC §2). */
export const DEFAULT_CONFIG_FILE = 'reflector.conf';

type ReadResult = { readonly text: string } | { readonly error: string };

/** What every unreadable-file issue says was expected. */
const READABLE = `expected a readable regular file of at most ${MAX_CONFIG_BYTES} bytes (1 MiB)`;

/**
 * Reads a regular file of at most MAX_CONFIG_BYTES as UTF-8. Opens non-blocking so that a FIFO
 * cannot hang the loader, and refuses devices and directories before reading. `error` is the reason.
 */
function readTextFile(file: string): ReadResult {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return { error: `${file} is not a regular file` };
    if (st.size > MAX_CONFIG_BYTES) return { error: `${file} has ${st.size} bytes` };
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) return { error: `${file} has more than ${MAX_CONFIG_BYTES} bytes` };
    }
    return { text: buf.toString('utf8', 0, n) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Edit distance, for "did you mean" on unknown keywords (inputs are at most a line long). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function unknownKeywordMessage(word: string, suggest: boolean): string {
  let best: string | undefined;
  let bestDistance = 3;
  if (suggest && word.length <= 40) {
    for (const k of CONFIG_KEYWORDS) {
      const d = editDistance(word, k);
      if (d < bestDistance) { best = k; bestDistance = d; }
    }
  }
  return `unknown keyword; expected one of the keywords listed in reflector.conf.example and docs/protocol.md${best === undefined ? '' : ` (did you mean ${best}?)`}`;
}

/**
 * Parses configuration text; `file` names it in issues, and relative paths in it (SIP_USERS_FILE,
 * FILE_SPOOL_DIR) are resolved against its directory. Collects every issue; never throws.
 */
export function parseConfigText(text: string, file: string): { config: Config | null; issues: ConfigIssue[] } {
  const baseDir = dirname(resolve(file));
  const parsed = parseConfigLines(text, file);
  const issues: ConfigIssue[] = [...parsed.issues];
  const raw: Record<string, unknown> = {};
  const linesOf = new Map<string, number[]>();

  let unknown = 0;
  for (const { line, keyword, args } of parsed.lines) {
    if (!isKeyword(keyword)) {
      // Suggestions for the first few only: a file of garbage should not cost edit distances per line.
      issues.push({ file, line, keyword, message: unknownKeywordMessage(keyword, ++unknown <= 20) });
      continue;
    }
    const seen = linesOf.get(keyword);
    if (REPEATABLE_KEYWORDS.has(keyword)) {
      const all = (raw[keyword] ?? []) as (readonly string[])[];
      all.push(args);
      raw[keyword] = all;
      if (seen === undefined) linesOf.set(keyword, [line]); else seen.push(line);
    } else if (seen !== undefined) {
      issues.push({ file, line, keyword, message: `expected at most one ${keyword} line, got lines ${seen[0]} and ${line}` });
    } else {
      raw[keyword] = args;
      linesOf.set(keyword, [line]);
    }
  }

  // SIP_USERS_FILE is read here so that its lines go through the same schema; its issues name that file.
  let usersFile: string | undefined;
  let usersLines: number[] = [];
  const usersArgs = raw.SIP_USERS_FILE;
  if (Array.isArray(usersArgs) && usersArgs.length === 1 && typeof usersArgs[0] === 'string') {
    const usersPath = resolveConfigPath(baseDir, usersArgs[0]);
    const read = readTextFile(usersPath);
    if ('error' in read) {
      issues.push({ file, line: linesOf.get('SIP_USERS_FILE')?.[0] ?? 0, keyword: 'SIP_USERS_FILE', message: `${READABLE} of name secret lines: ${read.error}` });
    } else {
      const users = tokenizeLines(read.text, usersPath, 'SIP_USERS_FILE');
      issues.push(...users.issues);
      raw.usersFileEntries = users.lines.map((l) => l.tokens);
      usersLines = users.lines.map((l) => l.line);
      usersFile = usersPath;
    }
  }

  let result: ReturnType<typeof configSchema.safeParse>;
  try {
    result = configSchema.safeParse({ ...raw, baseDir, source: file });
  } catch (err) {
    // Backstop for our own bugs: parseConfigText promises never to throw.
    const reason = err instanceof Error ? err.message : String(err);
    issues.push({ file, line: 0, keyword: '', message: `expected a configuration the checker can handle, but it failed internally (${reason})` });
    return { config: null, issues };
  }
  if (!result.success) {
    for (const iss of result.error.issues) {
      const [head, index] = iss.path;
      if (head === 'usersFileEntries' && usersFile !== undefined) {
        issues.push({ file: usersFile, line: typeof index === 'number' ? usersLines[index] ?? 0 : 0, keyword: 'SIP_USERS_FILE', message: iss.message });
        continue;
      }
      const keyword = typeof head === 'string' ? head : '';
      const lines = linesOf.get(keyword) ?? [];
      const at = isKeyword(keyword) && REPEATABLE_KEYWORDS.has(keyword) && typeof index === 'number' ? lines[index] : lines[0];
      issues.push({ file, line: at ?? 0, keyword, message: iss.message });
    }
  }

  // File order: this file by line, then the users file by line (stable for issues on one line).
  const rank = (i: ConfigIssue): number => (i.file === file ? 0 : 1);
  issues.sort((a, b) => rank(a) - rank(b) || a.line - b.line);
  return { config: issues.length === 0 && result.success ? result.data : null, issues };
}

/** Every issue of `file`, for `reflector --check`; an unreadable file is one issue at line 0. */
export function checkConfigFile(file: string): ConfigIssue[] {
  const read = readTextFile(file);
  if ('error' in read) return [{ file, line: 0, keyword: '', message: `${READABLE}: ${read.error}` }];
  return parseConfigText(read.text, file).issues;
}

/** Loads and validates `file`; throws ConfigError with every issue. */
export function loadConfigFile(file: string): Config {
  const read = readTextFile(file);
  if ('error' in read) throw new ConfigError([{ file, line: 0, keyword: '', message: `${READABLE}: ${read.error}` }]);
  const { config, issues } = parseConfigText(read.text, file);
  if (config === null) throw new ConfigError(issues);
  return config;
}

/**
 * SPEC §2: `--config FILE` if given, else `./reflector.conf` if it exists, else the built-in
 * defaults. Relative names are taken from `cwd`. Throws ConfigError.
 */
export function resolveConfig(argPath: string | undefined, cwd: string = process.cwd()): Config {
  const sameDir = resolve(cwd) === process.cwd();
  if (argPath !== undefined) return loadConfigFile(sameDir ? argPath : resolve(cwd, argPath));
  const local = resolve(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(local)) return loadConfigFile(sameDir ? DEFAULT_CONFIG_FILE : local);
  const defaults = builtInDefaults();
  if (typeof defaults === 'string') throw new ConfigError([{ file: '(built-in defaults)', line: 0, keyword: '', message: defaults }]);
  return deepFreeze(defaults);
}
