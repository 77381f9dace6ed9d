/**
 * Mutation fuzzer for every parser of untrusted input (tools/fuzz/targets.ts):
 * SIP, SDP, RTP, RTCP, RFLX, STUN, relay shim, proxy TCP lines, config, digest.
 *
 *   node dist/tools/fuzz.js --target sip --runs 1000000 --seed 1
 *   node dist/tools/fuzz.js --target all --runs 2000 --seed 7      (the CI smoke)
 *
 * For each input it checks: the parser never throws, never takes longer than
 * --slow-ms (and never hangs: a watchdog in the main thread ends a worker that
 * stops making progress for --hang-ms and reports the input it was on), and
 * what it produced stays within the target's bound relative to the input.
 *
 * Inputs are mutations (bit flips, interesting bytes, insertions, deletions,
 * repeats, splices, dictionary tokens, number swaps) of a seed corpus; an
 * input that leads to an outcome label not seen before joins the corpus
 * (behaviour feedback, not code coverage: see docs/operations.md, "Fuzzing").
 * Findings are written to --findings DIR (default ./fuzz-findings) as
 * `<target>-<kind>-<sha1>.bin`; one JSON line per target goes to stdout; the
 * exit code is 1 when anything was found.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { TARGETS, targetByName, type FuzzTarget } from './fuzz/targets.js';

export const FUZZ_USAGE = `usage: fuzz --target NAME|all [--runs N] [--seed S] [--max-len BYTES]
            [--slow-ms MS] [--hang-ms MS] [--findings DIR] [--list]
targets: ${TARGETS.map((t) => t.name).join(', ')}`;

/** The most an input may be, in bytes (a SIP message is at most 64 KiB; media datagrams are smaller). */
const DEFAULT_MAX_LEN = 8192;
const CORPUS_MAX = 4096;
const SHARED_INPUT_MAX = 70_000;

export interface FuzzFinding {
  readonly kind: 'throw' | 'slow' | 'amplification' | 'hang';
  readonly detail: string;
  readonly input: Buffer;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  readonly runs: number;
  readonly corpus: number;
  readonly labels: number;
  readonly findings: number;
  readonly maxOutputRatio: number;
  readonly slowestMs: number;
  readonly elapsedMs: number;
}

/** mulberry32: deterministic, so a run replays from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x2c, 0x3a, 0x3b, 0x3c, 0x3e, 0x5c, 0x7f, 0x80, 0xc0, 0xff];
const NUMBERS = ['0', '1', '-1', '255', '256', '65535', '65536', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993', '99999999999999999999'];

export class Mutator {
  readonly #rnd: () => number;
  readonly #maxLen: number;
  readonly #dict: readonly Buffer[];

  constructor(rnd: () => number, maxLen: number, dictionary: readonly string[]) {
    this.#rnd = rnd;
    this.#maxLen = maxLen;
    this.#dict = dictionary.map((d) => Buffer.from(d, 'utf8'));
  }

  #int(n: number): number { return Math.floor(this.#rnd() * n); }

  mutate(base: Buffer, other: Buffer): Buffer {
    let b: Buffer = Buffer.from(base);
    const ops = 1 + this.#int(4);
    for (let k = 0; k < ops; k++) b = this.#one(b, other);
    return b.length > this.#maxLen ? b.subarray(0, this.#maxLen) : b;
  }

  #one(b: Buffer, other: Buffer): Buffer {
    const n = b.length;
    const at = this.#int(n + 1);
    switch (this.#int(11)) {
      case 0: { // flip a bit
        if (n === 0) return b;
        const c = Buffer.from(b);
        const i = this.#int(n);
        c[i] = (c[i] ?? 0) ^ (1 << this.#int(8));
        return c;
      }
      case 1: { // an interesting byte
        if (n === 0) return Buffer.from([INTERESTING_BYTES[this.#int(INTERESTING_BYTES.length)] ?? 0]);
        const c = Buffer.from(b);
        c[this.#int(n)] = INTERESTING_BYTES[this.#int(INTERESTING_BYTES.length)] ?? 0;
        return c;
      }
      case 2: { // insert random bytes
        const ins = Buffer.alloc(1 + this.#int(8));
        for (let i = 0; i < ins.length; i++) ins[i] = this.#int(256);
        return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
      }
      case 3: { // delete a range
        const len = 1 + this.#int(Math.max(1, Math.min(64, n - at)));
        return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + len))]);
      }
      case 4: { // repeat a range (long values, many headers)
        if (n === 0) return b;
        const start = this.#int(n);
        const len = 1 + this.#int(Math.min(256, n - start));
        const times = 1 + this.#int(this.#rnd() < 0.1 ? 200 : 8);
        const piece = b.subarray(start, start + len);
        const parts = [b.subarray(0, start + len)];
        for (let i = 0; i < times && (start + len) + i * len < this.#maxLen; i++) parts.push(piece);
        parts.push(b.subarray(start + len));
        return Buffer.concat(parts);
      }
      case 5: { // splice with another corpus entry
        const cut = this.#int(other.length + 1);
        return Buffer.concat([b.subarray(0, at), other.subarray(cut)]);
      }
      case 6: case 7: { // dictionary token
        if (this.#dict.length === 0) return b;
        const tok = this.#dict[this.#int(this.#dict.length)] ?? Buffer.alloc(0);
        if (this.#rnd() < 0.5) return Buffer.concat([b.subarray(0, at), tok, b.subarray(at)]);
        return Buffer.concat([b.subarray(0, at), tok, b.subarray(Math.min(n, at + tok.length))]);
      }
      case 8: { // truncate
        return b.subarray(0, at);
      }
      case 9: { // swap a digit run for a boundary number
        const text = b.toString('latin1');
        const re = /\d+/g;
        const runs: [number, number][] = [];
        let m: RegExpExecArray | null;
        while ((m = re.exec(text)) !== null && runs.length < 64) runs.push([m.index, m[0].length]);
        if (runs.length === 0) return b;
        const [s, l] = runs[this.#int(runs.length)] ?? [0, 0];
        return Buffer.concat([b.subarray(0, s), Buffer.from(NUMBERS[this.#int(NUMBERS.length)] ?? '0'), b.subarray(s + l)]);
      }
      default: { // overwrite a 16/32-bit field with an extreme value (binary formats)
        if (n < 4) return b;
        const c = Buffer.from(b);
        const i = this.#int(n - 3);
        const v = [0, 0xffffffff, 0x7fffffff, 0x80000000, 1][this.#int(5)] ?? 0;
        if (this.#rnd() < 0.5) c.writeUInt16BE(v & 0xffff, i); else c.writeUInt32BE(v >>> 0, i);
        return c;
      }
    }
  }
}

export interface RunOptions {
  readonly runs: number;
  readonly seed: number;
  readonly maxLen: number;
  readonly slowMs: number;
  /** Called before each input (the worker shares it with the watchdog). */
  readonly onInput?: (input: Buffer, index: number) => void;
}

/** Runs one target in this thread; returns the report and what was found. */
export function fuzzTarget(target: FuzzTarget, o: RunOptions): { report: FuzzReport; findings: FuzzFinding[] } {
  const rnd = prng(o.seed);
  const mutator = new Mutator(rnd, o.maxLen, target.dictionary);
  const corpus = target.seeds().filter((s) => s.length <= o.maxLen);
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  const labels = new Set<string>();
  const findings: FuzzFinding[] = [];
  const seenFindings = new Set<string>();
  let maxRatio = 0;
  let slowest = 0;
  const started = Date.now();
  const note = (kind: FuzzFinding['kind'], detail: string, input: Buffer): void => {
    const key = `${kind}:${detail.slice(0, 120)}`;
    if (seenFindings.has(key) || findings.length >= 32) return;
    seenFindings.add(key);
    findings.push({ kind, detail, input: Buffer.from(input) });
  };
  for (let i = 0; i < o.runs; i++) {
    // Every 16th input is a seed as is, so the valid paths keep being exercised.
    const input = i < corpus.length || i % 16 === 0
      ? corpus[i % corpus.length] ?? Buffer.alloc(0)
      : mutator.mutate(corpus[Math.floor(rnd() * corpus.length)] ?? Buffer.alloc(0), corpus[Math.floor(rnd() * corpus.length)] ?? Buffer.alloc(0));
    o.onInput?.(input, i);
    const t0 = performance.now();
    let label: string;
    try {
      const out = target.run(input);
      const bound = target.maxOutput(input.length);
      if (out.outputSize > bound) note('amplification', `output ${out.outputSize} > bound ${bound} for ${input.length} bytes (${out.label})`, input);
      if (input.length > 0) maxRatio = Math.max(maxRatio, out.outputSize / input.length);
      label = out.label;
    } catch (err) {
      note('throw', err instanceof Error ? `${err.name}: ${err.message} @ ${(err.stack ?? '').split('\n')[1]?.trim() ?? ''}` : String(err), input);
      label = 'throw';
    }
    let ms = performance.now() - t0;
    if (ms > o.slowMs) {
      // Confirm on a shared machine: a slow input is one that stays slow (not a GC pause or a first-call compile).
      for (let again = 0; again < 2 && ms > o.slowMs; again++) {
        const t1 = performance.now();
        try { target.run(input); } catch { /* reported above */ }
        ms = Math.min(ms, performance.now() - t1);
      }
      if (ms > o.slowMs) note('slow', `${ms.toFixed(0)} ms for ${input.length} bytes (the least of three runs)`, input);
    }
    if (ms > slowest) slowest = ms;
    // Behaviour feedback: a new outcome (label and output-size class) keeps the input.
    if (!labels.has(label)) {
      labels.add(label);
      if (corpus.length < CORPUS_MAX) corpus.push(input);
      else corpus[Math.floor(rnd() * CORPUS_MAX)] = input;
    }
  }
  return {
    report: {
      target: target.name, seed: o.seed, runs: o.runs, corpus: corpus.length, labels: labels.size, findings: findings.length,
      maxOutputRatio: Math.round(maxRatio * 1000) / 1000, slowestMs: Math.round(slowest * 10) / 10, elapsedMs: Date.now() - started,
    },
    findings,
  };
}

// ─── worker side ──────────────────────────────────────────────────────────

interface WorkerJob { readonly target: string; readonly options: Omit<RunOptions, 'onInput'>; readonly shared: SharedArrayBuffer }
type WorkerResult = { readonly report: FuzzReport; readonly findings: { kind: FuzzFinding['kind']; detail: string; input: Uint8Array }[] };

function workerMain(job: WorkerJob): void {
  const target = targetByName(job.target);
  if (target === undefined) throw new Error(`unknown target ${job.target}`);
  // Layout of shared: [0] progress counter, [1] length of the current input, then its bytes.
  const meta = new Int32Array(job.shared, 0, 2);
  const bytes = new Uint8Array(job.shared, 8);
  const r = fuzzTarget(target, {
    ...job.options,
    onInput: (input, index) => {
      const n = Math.min(input.length, bytes.length);
      bytes.set(input.subarray(0, n));
      Atomics.store(meta, 1, n);
      Atomics.store(meta, 0, index + 1);
    },
  });
  const result: WorkerResult = { report: r.report, findings: r.findings.map((f) => ({ kind: f.kind, detail: f.detail, input: f.input })) };
  parentPort?.postMessage(result);
}

// ─── main side ────────────────────────────────────────────────────────────

/** Runs a target in a worker under a watchdog; a worker without progress for hangMs is a 'hang' finding. */
export function fuzzInWorker(target: string, options: Omit<RunOptions, 'onInput'>, hangMs: number): Promise<{ report: FuzzReport; findings: FuzzFinding[] }> {
  const shared = new SharedArrayBuffer(8 + SHARED_INPUT_MAX);
  const meta = new Int32Array(shared, 0, 2);
  const worker = new Worker(new URL(import.meta.url), { workerData: { target, options, shared } satisfies WorkerJob });
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const now = Atomics.load(meta, 0);
      if (now !== last) { last = now; lastChange = Date.now(); return; }
      if (Date.now() - lastChange < hangMs) return;
      clearInterval(watchdog);
      const n = Atomics.load(meta, 1);
      const input = Buffer.from(new Uint8Array(shared, 8, n));
      void worker.terminate();
      resolve({
        report: { target, seed: options.seed, runs: now, corpus: 0, labels: 0, findings: 1, maxOutputRatio: 0, slowestMs: hangMs, elapsedMs: 0 },
        findings: [{ kind: 'hang', detail: `no progress for ${hangMs} ms at input ${now}`, input }],
      });
    }, Math.min(1000, hangMs / 4));
    worker.once('message', (m: WorkerResult) => {
      clearInterval(watchdog);
      resolve({ report: m.report, findings: m.findings.map((f) => ({ kind: f.kind, detail: f.detail, input: Buffer.from(f.input) })) });
    });
    worker.once('error', (err) => { clearInterval(watchdog); reject(err); });
    worker.once('exit', () => { clearInterval(watchdog); });
  });
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' }, 'max-len': { type: 'string' },
      'slow-ms': { type: 'string' }, 'hang-ms': { type: 'string' }, findings: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help === true) { process.stdout.write(FUZZ_USAGE + '\n'); return 0; }
  if (values.list === true) { for (const t of TARGETS) process.stdout.write(`${t.name}\t${t.description}\n`); return 0; }
  const num = (v: string | undefined, d: number, what: string): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${what} must be a non-negative integer`);
    return n;
  };
  const name = values.target;
  if (name === undefined) { process.stderr.write(FUZZ_USAGE + '\n'); return 2; }
  const names = name === 'all' ? TARGETS.map((t) => t.name) : name.split(',');
  for (const n of names) if (targetByName(n) === undefined) { process.stderr.write(`unknown target ${n}\n${FUZZ_USAGE}\n`); return 2; }
  const options = {
    runs: num(values.runs, 10_000, 'runs'), seed: num(values.seed, 1, 'seed'), maxLen: num(values['max-len'], DEFAULT_MAX_LEN, 'max-len'),
    slowMs: num(values['slow-ms'], 1000, 'slow-ms'),
  };
  const hangMs = num(values['hang-ms'], 10_000, 'hang-ms');
  const dir = values.findings ?? 'fuzz-findings';
  let found = 0;
  for (const n of names) {
    const { report, findings } = await fuzzInWorker(n, options, hangMs);
    found += findings.length;
    for (const f of findings) {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${n}-${f.kind}-${createHash('sha1').update(f.input).digest('hex').slice(0, 12)}.bin`);
      writeFileSync(file, f.input);
      process.stderr.write(`FINDING ${n} ${f.kind}: ${f.detail} (input ${f.input.length} bytes in ${file})\n`);
    }
    process.stdout.write(JSON.stringify(report) + '\n');
  }
  return found > 0 ? 1 : 0;
}

if (isMainThread) {
  if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
      process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    });
  }
} else {
  workerMain(workerData as WorkerJob);
}
