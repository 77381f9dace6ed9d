/**
 * The line-oriented syntax of the configuration file (SPEC §3), as in Alkit
 * Reflex: `KEYWORD arg ...` per line, `#` starts a comment anywhere on a
 * line, blank lines are ignored, keywords are case-insensitive, arguments
 * are separated by spaces or tabs. Also used for SIP_USERS_FILE (`name secret`
 * lines). Never throws; defects come back as issues.
 *
 * Consequence of `#` starting a comment anywhere: no argument (secret, token,
 * path) can contain `#`.
 */
import type { ConfigIssue } from './issue.js';

/** Files larger than this are refused as a whole (SIP_USERS_FILE too). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Longer lines are refused (the rest of the file is still read). */
export const MAX_LINE_CHARS = 4096;

/** A non-empty line split into whitespace-separated tokens. */
export interface TokenLine {
  /** 1-based line number. */
  readonly line: number;
  readonly tokens: readonly string[];
}

export interface ConfigLine {
  readonly line: number;
  /** Upper-cased. */
  readonly keyword: string;
  readonly args: readonly string[];
}

export interface Tokenized<T> {
  readonly lines: T[];
  readonly issues: ConfigIssue[];
}

const SEPARATOR = /[ \t\v\f\r]+/;
const KEYWORD = /^[A-Za-z][A-Za-z0-9_]*$/;
/** C0 controls other than tab/CR/VT/FF, DEL, and U+FFFD (what invalid UTF-8 decodes to). */
const BAD_CHAR = /[\x00-\x08\x0e-\x1f\x7f\ufffd]/;

/** Splits `text` into token lines. `keyword` names the issues it reports (e.g. SIP_USERS_FILE). */
export function tokenizeLines(text: string, file: string, keyword = ''): Tokenized<TokenLine> {
  const lines: TokenLine[] = [];
  const issues: ConfigIssue[] = [];
  // UTF-8 needs at least one byte per UTF-16 unit, so the cheap length test goes first.
  if (text.length > MAX_CONFIG_BYTES || Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    issues.push({ file, line: 0, keyword, message: `expected a file of at most ${MAX_CONFIG_BYTES} bytes (1 MiB)` });
    return { lines, issues };
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const raw = body.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const lineNo = i + 1;
    const full = raw[i];
    if (full.length > MAX_LINE_CHARS) {
      issues.push({ file, line: lineNo, keyword, message: `expected a line of at most ${MAX_LINE_CHARS} characters, got ${full.length}` });
      continue;
    }
    const hash = full.indexOf('#');
    const content = hash >= 0 ? full.slice(0, hash) : full;
    if (BAD_CHAR.test(content)) {
      issues.push({ file, line: lineNo, keyword, message: 'expected printable text, got a control character or invalid UTF-8' });
      continue;
    }
    const tokens = content.split(SEPARATOR).filter((t) => t.length > 0);
    if (tokens.length > 0) lines.push({ line: lineNo, tokens });
  }
  return { lines, issues };
}

/** Parses configuration text into `{ line, keyword, args }` entries plus syntax issues. */
export function parseConfigLines(text: string, file: string): Tokenized<ConfigLine> {
  const { lines: tokenLines, issues } = tokenizeLines(text, file);
  const lines: ConfigLine[] = [];
  for (const { line, tokens } of tokenLines) {
    const word = tokens[0];
    if (!KEYWORD.test(word)) {
      issues.push({ file, line, keyword: '', message: `expected a keyword (letters, digits, _), got ${quote(word)}` });
      continue;
    }
    lines.push({ line, keyword: word.toUpperCase(), args: tokens.slice(1) });
  }
  return { lines, issues };
}

/** A token shown in a message: quoted, and cut short so one bad line cannot flood the output. */
export function quote(s: string): string {
  const cut = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return JSON.stringify(cut);
}
