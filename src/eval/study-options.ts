import type { ParamValue } from '../press/registry-entry.js';
import { findPress, pressParams } from '../press/registry.js';
import type { Task } from './tasks/task.js';
import type { Setting } from './result.js';

/** One press of the study with the parameters it runs with (only those given, checked against the registry). */
export interface PressSpec {
  press: string;
  params: Record<string, ParamValue>;
}

/**
 * Presses whose memory is set by one of their own parameters, not by the compression ratio
 * (methods.md §12: FastGen's recovery threshold τ). The study sweeps that parameter instead of the
 * ratio and places each point at the memory it measured.
 */
export const PARAMETER_DRIVEN: Readonly<Record<string, string>> = { fastgen: 'threshold' };

/** A deterministic slice of the grid: unit i (one example in one setting, with every press) runs in shard i mod count. */
export interface Shard {
  index: number;
  count: number;
}

export interface StudyOptions {
  /** Name recorded in every result line. */
  modelName: string;
  tasks: readonly Task[];
  presses: readonly PressSpec[];
  /** Fractions of the KV cache removed by the ratio-driven presses; the full-cache baseline always runs. */
  ratios: readonly number[];
  /** Values swept for each parameter-driven press present (PARAMETER_DRIVEN), by press name. */
  sweeps: Readonly<Record<string, readonly number[]>>;
  shots: readonly number[];
  /** Examples per task × shots. */
  n: number;
  seed: number;
  settings: readonly Setting[];
  /** Ratio of the press acting on the generated tokens (0 = decoding not compressed). */
  decodeRatio: number;
  out: string;
  shard?: Shard;
  /** Decode each example's presses × ratios together, one pass over the weights per step (default true); false: one after another. */
  batched?: boolean;
}

/**
 * The study `kvtrim eval` runs with no flags. n = 15 examples per task × shot count, so the cells
 * the report pools over shots have n = 30 (Wilson intervals about ±17 points at 50 %); retrieval,
 * zero-shot only, has 15. The ratios keep 50 / 30 / 10 % (the paper's budgets); FastGen's τ values
 * keep about 35 / 63 / 80 / 84 % of the prompt on the embedded model (measured, README).
 */
export const defaultStudy = {
  presses: ['streamingllm', 'snapkv', 'random', 'chunkkv', 'shotkv', 'fastgen'],
  ratios: [0.5, 0.7, 0.9],
  sweeps: { fastgen: [0.2, 0.5, 0.85, 0.95] } as Record<string, number[]>,
  shots: [1, 4],
  n: 15,
  seed: 1,
  settings: ['question-aware', 'question-agnostic'] as Setting[],
  decodeRatio: 0,
};

/**
 * The shot counts a task runs at: each asked count the task supports; a count above the task's
 * largest runs at its largest (long generation asked for 1 and 4 runs at 1 and 2, so its cells pool
 * two shot counts like the others); a zero-shot task runs once, with 0 shots.
 */
export function shotsFor(task: Task, shots: readonly number[]): number[] {
  const max = Math.max(...task.shotCounts);
  const ok = shots.map((s) => (s > max ? max : s)).filter((s) => task.shotCounts.includes(s));
  return ok.length ? [...new Set(ok)] : [task.shotCounts[0]!];
}

/** "name" or "name:param=value:param=value" (e.g. "shotkv:keepProtected=true"): the press and its given parameters, typed by the registry. */
export function parsePressSpec(text: string): PressSpec {
  const [press, ...pairs] = text.split(':');
  const entry = findPress(press!);
  const given: Record<string, ParamValue> = {};
  for (const p of pairs) {
    const at = p.indexOf('=');
    if (at <= 0) throw new RangeError(`press '${text}': '${p}' is not param=value`);
    given[p.slice(0, at)] = p.slice(at + 1);
  }
  const typed = pressParams(entry, given);
  return { press: entry.name, params: Object.fromEntries(Object.keys(given).map((k) => [k, typed[k]!])) };
}

/** "k/N" with 0 ≤ k < N: the shard a cluster index runs (Kubernetes' JOB_COMPLETION_INDEX and Slurm arrays count from 0). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
  if (!shard || shard.count < 1 || shard.index >= shard.count) throw new RangeError(`--shard: '${text}' is not k/N with 0 ≤ k < N`);
  return shard;
}
