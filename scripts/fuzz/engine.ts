import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OUTCOMES, type Outcome } from './cases.js';

export interface FuzzOptions {
  seed: number;
  /** Case ids to run, consecutive from `first`; `count` Infinity runs until `deadline`. */
  first: number;
  count: number;
  /** performance.now() at which no new batch starts. */
  deadline?: number;
  /** A case running longer is a hang. */
  caseMs: number;
  /** A case whose peak resident memory exceeds this, or that exhausts its V8 heap of `heapMB`, is out of memory. */
  memMB: number;
  heapMB: number;
  /** Cases per child process (process start costs about half a second). */
  batch: number;
  onResult?: (r: CaseResult) => void;
}

export interface CaseResult {
  id: number;
  target: string;
  mutation: string;
  outcome: Outcome;
  ms: number;
  message: string;
}

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));

/**
 * Runs cases in child processes, a batch per process. A case that kills its process (hang, heap
 * exhausted) or fails is run again alone in a fresh one, and that run decides its outcome; the batch
 * goes on after it.
 */
export async function fuzz(o: FuzzOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const record = (r: CaseResult) => {
    results.push(r);
    o.onResult?.(r);
  };
  let next = o.first;
  const end = o.first + o.count;
  while (next < end && (o.deadline === undefined || performance.now() < o.deadline)) {
    const n = Math.min(o.batch, end - next);
    const { done, died } = await runBatch(o, next, n);
    for (const r of done) {
      if (r.outcome === 'typed' || r.outcome === 'loaded') record(r);
      else record(await alone(o, r.id, r));
    }
    if (died) record(await alone(o, died.id, died));
    next = died ? died.id + 1 : next + n;
  }
  return results;
}

/** Runs one case in its own process, whose outcome decides; `seen` (what it did inside the batch) only if that run reports nothing. */
async function alone(o: FuzzOptions, id: number, seen: CaseResult): Promise<CaseResult> {
  const { done, died } = await runBatch(o, id, 1);
  return done[0] ?? died ?? seen;
}

/** One child process over cases first..first+count-1: the results it printed, and the case it died in (hang, OOM, crash of the process). */
function runBatch(o: FuzzOptions, first: number, count: number): Promise<{ done: CaseResult[]; died?: CaseResult }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${o.heapMB}`, '--import', 'tsx', worker, String(o.seed), String(first), String(count), String(o.memMB)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done: CaseResult[] = [];
    let running: number | undefined;
    let runningCase = { target: '', mutation: '' };
    let started = 0;
    let hung = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setInterval(() => {
      if (running !== undefined && performance.now() - started > o.caseMs) {
        hung = true;
        child.kill('SIGKILL');
      }
    }, 50);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { start?: number } & CaseResult;
      if (msg.start !== undefined) {
        running = msg.start;
        runningCase = { target: msg.target, mutation: msg.mutation };
        started = performance.now();
      } else {
        running = undefined;
        done.push(msg);
      }
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (running === undefined && (code === 0 || done.length === count)) return resolve({ done });
      const id = running ?? first + done.length;
      const outcome: Outcome = hung ? 'hang' : /heap out of memory|Allocation failed|Invalid array buffer length|Array buffer allocation failed/.test(stderr) ? 'oom' : 'crash';
      const ms = running === undefined ? 0 : performance.now() - started;
      const why = hung ? `still running after ${o.caseMs} ms` : `process exited (code ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-6).join(' | ')}`;
      resolve({ done, died: { id, ...runningCase, outcome, ms, message: why } });
    });
  });
}

/** Counts per target file × mutation × outcome, and the slowest typed error. */
export function summarise(results: readonly CaseResult[]): string {
  const rows = new Map<string, Record<Outcome, number>>();
  const slowest = new Map<string, number>();
  for (const r of results) {
    const key = `${r.target}\t${r.mutation}`;
    const row = rows.get(key) ?? (Object.fromEntries(OUTCOMES.map((x) => [x, 0])) as Record<Outcome, number>);
    row[r.outcome]++;
    rows.set(key, row);
    if (r.outcome === 'typed') slowest.set(key, Math.max(slowest.get(key) ?? 0, r.ms));
  }
  const total = Object.fromEntries(OUTCOMES.map((x) => [x, results.filter((r) => r.outcome === x).length])) as Record<Outcome, number>;
  const w = Math.max(10, ...[...rows.keys()].map((k) => k.split('\t')[0]!.length));
  const line = (a: string, b: string, row: Record<Outcome, number>, slow: string) =>
    `${a.padEnd(w)}  ${b.padEnd(15)}${OUTCOMES.map((x) => String(row[x]).padStart(8)).join('')}${slow.padStart(14)}`;
  const ms = (key: string) => (slowest.has(key) ? slowest.get(key)!.toFixed(1) : '-');
  const out = [line('input', 'mutation', Object.fromEntries(OUTCOMES.map((x) => [x, x])) as unknown as Record<Outcome, number>, 'slowest typed')];
  for (const [key, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) out.push(line(key.split('\t')[0]!, key.split('\t')[1]!, row, ms(key)));
  out.push(line('all', `${results.length} cases`, total, ''));
  const typed = results.filter((r) => r.outcome === 'typed').sort((a, b) => b.ms - a.ms)[0];
  if (typed) out.push(`slowest typed error: case ${typed.id} (${typed.target}, ${typed.mutation}) ${typed.ms.toFixed(1)} ms: ${typed.message.slice(0, 160)}`);
  const median = [...results].filter((r) => r.outcome === 'typed').map((r) => r.ms).sort((a, b) => a - b);
  if (median.length > 0) out.push(`median typed error: ${median[Math.floor(median.length / 2)]!.toFixed(2)} ms`);
  return out.join('\n');
}
