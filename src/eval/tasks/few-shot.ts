import type { Rng } from '../../generate/rng.js';
import { exampleRng } from './pick.js';
import type { Example, Task } from './task.js';

/** A question and its worked answer, as one shot or as the final question. */
export interface QA {
  q: string;
  a: string;
}

/** Char-level friendly layout: "Q: ...\nA: ...\n\n" per shot, the question ends at "A:" and the answer is " ...". */
export function fewShotExample(task: string, id: string, shots: readonly QA[], question: QA, opts: { system?: string; maxNewTokens: number }): Example {
  const segments: Example['segments'] = [];
  if (opts.system) segments.push({ kind: 'system', text: opts.system });
  for (const s of shots) segments.push({ kind: 'shot', text: `Q: ${s.q}\nA: ${s.a}\n\n` });
  segments.push({ kind: 'question', text: `Q: ${question.q}\nA:` });
  return { id, task, segments, answer: ` ${question.a}`, maxNewTokens: opts.maxNewTokens, stop: ['\n'] };
}

/** The first line of an output, trimmed: the graded part of every single-line answer. */
export function firstLine(output: string): string {
  return (output.split('\n')[0] ?? '').trim();
}

/** What follows the last "Answer:" on the first line (answers are reasoning first, then "Answer: X"). */
export function afterAnswerMark(output: string): string {
  const line = firstLine(output);
  const at = line.lastIndexOf('Answer:');
  return at < 0 ? '' : line.slice(at + 'Answer:'.length).trim();
}

export function checkShots(task: string, shots: number, supported: readonly number[]): void {
  if (!supported.includes(shots)) throw new RangeError(`${task}: ${shots} shots not supported (use one of ${supported.join(', ')})`);
}

export function checkCount(task: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${task}: example count ${n} must be a non-negative integer`);
}

/** One drawn few-shot example: worked shots, the question, and how long its answer may run. */
export interface FewShotDraw {
  worked: readonly QA[];
  question: QA;
  maxNewTokens: number;
  system?: string;
}

/** `n` examples of a few-shot task, example i drawn by `draw` from its own seeded stream (pure in seed, i). */
export function fewShotExamples(task: Pick<Task, 'name' | 'shotCounts'>, seed: number, n: number, shots: number, draw: (rng: Rng, shots: number) => FewShotDraw): Example[] {
  checkShots(task.name, shots, task.shotCounts);
  checkCount(task.name, n);
  return Array.from({ length: n }, (_, i) => {
    const d = draw(exampleRng(task.name, seed, i), shots);
    return fewShotExample(task.name, `${task.name}-${seed}-${i}`, d.worked, d.question, { system: d.system, maxNewTokens: d.maxNewTokens });
  });
}
