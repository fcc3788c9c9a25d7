import type { Task } from './tasks/task.js';
import type { Setting } from './result.js';

export interface StudyOptions {
  /** Name recorded in every result line. */
  modelName: string;
  tasks: readonly Task[];
  presses: readonly string[];
  /** Fractions of the KV cache removed; 0 is the full-cache baseline. */
  ratios: readonly number[];
  shots: readonly number[];
  /** Examples per task × shots. */
  n: number;
  seed: number;
  settings: readonly Setting[];
  /** Ratio of the press acting on the generated tokens (0 = decoding not compressed). */
  decodeRatio: number;
  out: string;
}

/** The study `kvtrim eval` runs with no flags: sized to finish in minutes on a 2-core machine. */
export const defaultStudy = {
  presses: ['streamingllm', 'snapkv', 'random', 'chunkkv', 'shotkv', 'fastgen'],
  ratios: [0, 0.5, 0.8],
  shots: [1, 4],
  n: 3,
  seed: 1,
  settings: ['question-aware', 'question-agnostic'] as Setting[],
  decodeRatio: 0,
};

/** Shot counts of `shots` the task supports (zero-shot tasks run once, with 0 shots). */
export function shotsFor(task: Task, shots: readonly number[]): number[] {
  const ok = shots.filter((s) => task.shotCounts.includes(s));
  return ok.length ? ok : [task.shotCounts[0]!];
}
