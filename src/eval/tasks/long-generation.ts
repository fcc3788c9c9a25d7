import { fewShotExamples, firstLine, type QA } from './few-shot.js';
import { int } from './pick.js';
import type { Rng } from '../../generate/rng.js';
import type { Example, ExampleOptions, Task } from './task.js';

/** Counting by 1 or 2: 40–70 numbers, a few hundred characters with one exact form. */
function counting(rng: Rng, min: number, max: number): QA {
  const step = int(rng, 1, 2);
  const count = int(rng, min, max);
  const start = int(rng, 10, 99);
  const items = Array.from({ length: count }, (_, k) => start + k * step);
  return { q: `Count from ${start} to ${items[count - 1]} by ${step}.`, a: items.join(',') };
}

/** Long generation: outputs of hundreds of tokens; partial credit is the share of the list right before the first error. */
export const longGenerationTask: Task = {
  name: 'long-generation',
  ability: 'long-generation',
  shotCounts: [0, 1, 2],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    return fewShotExamples(this, seed, n, opts.shots ?? 1, (rng, shots) => {
      // Short shots show the form; the question asks for the long list.
      const worked = Array.from({ length: shots }, () => counting(rng, 4, 8));
      const question = counting(rng, 40, 70);
      return { worked, question, maxNewTokens: question.a.length + 16 };
    });
  },
  extract: firstLine,
  score(example: Example, output: string): number {
    const want = example.answer.trim().split(',');
    const got = this.extract(output).split(',');
    let right = 0;
    while (right < want.length && got[right] === want[right]) right++;
    return right / Math.max(want.length, got.length);
  },
};
