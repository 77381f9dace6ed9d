/**
 * One configuration defect (SPEC §3): every error names the file, the line,
 * the keyword and what was expected. Line 0 means "the file as a whole"
 * (unreadable, too large).
 */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly keyword: string;
  readonly message: string;
}

/** `FILE:LINE: KEYWORD: message`, the form `reflector --check` prints (and editors can jump to). */
export function formatIssue(issue: ConfigIssue): string {
  const keyword = issue.keyword === '' ? '' : `${issue.keyword}: `;
  return `${issue.file}:${issue.line}: ${keyword}${issue.message}`;
}
