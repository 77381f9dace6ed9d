/**
 * A strict parser for the Prometheus text exposition format 0.0.4, used to
 * check /metrics. Throws with the line number on the first violation.
 */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: number): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // prom-client writes NaN as "Nan"; Prometheus parses the word case-insensitively (Go's ParseFloat).
  if (text.toLowerCase() === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without '='`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '\\') {
        const n = text[j + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else throw new Error(`line ${line}: bad escape \\${n ?? ''}`);
        j++;
      } else if (c === '"') {
        break;
      } else {
        value += c;
      }
    }
    if (j >= text.length) throw new Error(`line ${line}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`line ${line}: expected ',' between labels`);
  }
  return labels;
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n');
  lines.pop();
  let current: { name: string; type: string; help: string; samples: PromSample[] } | null = null;
  const seenSeries = new Set<string>();
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(raw);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      let fam = families.get(name);
      if (!fam) {
        fam = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, fam);
      } else if (current?.name !== name) {
        throw new Error(`line ${line}: metadata of ${name} is not contiguous`);
      }
      current = fam as typeof current;
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`line ${line}: bad type ${rest}`);
        if (fam.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        (fam as { type: string }).type = rest;
      } else {
        (fam as { help: string }).help = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(raw);
    if (!m) throw new Error(`line ${line}: malformed sample ${JSON.stringify(raw)}`);
    const [, name, , labelText, valueText] = m;
    const labels = labelText === undefined ? {} : parseLabels(labelText, line);
    const value = parseValue(valueText, line);
    const base = current?.name;
    const suffixOk = base !== undefined && (name === base || ['_sum', '_count', '_bucket', '_total', '_created'].some((s) => name === base + s));
    if (!suffixOk || current === null) throw new Error(`line ${line}: sample ${name} outside its family`);
    if (current.type === 'counter' && !name.endsWith('_total') && !name.endsWith('_created')) {
      // prom-client names counters with their full _total name; a bare counter sample is not valid OpenMetrics style
      if (!current.name.endsWith('_total')) throw new Error(`line ${line}: counter ${name} should end in _total`);
    }
    if (current.type === 'counter' && value < 0) throw new Error(`line ${line}: negative counter`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seenSeries.add(key);
    current.samples.push({ name, labels, value });
  });
  return families;
}

/** The value of one series, or undefined. */
export function promValue(fams: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const fam of fams.values()) {
    for (const s of fam.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
