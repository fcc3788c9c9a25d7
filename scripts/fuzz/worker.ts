/**
 * Child process of the fuzzer: runs cases `first`..`first + count - 1` of run `seed` one after another
 * and prints a JSON line before ("start") and after (the result) each, so the parent knows which case
 * was running when it has to kill this process.
 *   node --max-old-space-size=M --import tsx scripts/fuzz/worker.ts <seed> <first> <count> <memMB>
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseOf, runCase } from './cases.js';
import { buildSeeds } from './seeds.js';

const [seed, first, count, memMB] = process.argv.slice(2).map(Number) as [number, number, number, number];
const seeds = buildSeeds();
const dir = mkdtempSync(join(tmpdir(), 'kvtrim-fuzz-'));
/** Peak resident memory since the last reset (Linux), in MiB; undefined elsewhere. */
const peakMB = (): number | undefined => {
  const m = existsSync('/proc/self/status') ? /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8')) : null;
  return m ? Number(m[1]) / 1024 : undefined;
};
const resetPeak = () => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not allowed: the peak then only grows, which can only over-report
  }
};
try {
  for (let id = first; id < first + count; id++) {
    const c = caseOf(seeds, seed, id);
    resetPeak();
    process.stdout.write(JSON.stringify({ start: id, target: c.target, mutation: c.mutation }) + '\n');
    const t0 = performance.now();
    const r = await runCase(c, seeds[id % seeds.length]!.entry, join(dir, 'case'));
    const ms = performance.now() - t0;
    const peak = peakMB();
    const outcome = peak !== undefined && peak > memMB ? 'oom' : r.outcome;
    const message = outcome === 'oom' ? `peak resident memory ${peak!.toFixed(0)} MiB > ${memMB} MiB; ${r.outcome}: ${r.message}` : r.message;
    process.stdout.write(JSON.stringify({ id, target: c.target, mutation: c.mutation, outcome, ms, message: message.slice(0, 2000) }) + '\n');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
