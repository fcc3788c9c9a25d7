import { afterAnswerMark, fewShotExamples, type QA } from './few-shot.js';
import { choice, int } from './pick.js';
import type { Rng } from '../../generate/rng.js';
import type { Example, ExampleOptions, Task } from './task.js';

const NAMES = ['Tom', 'Ann', 'Bob', 'Eva', 'Sam', 'Mia', 'Leo', 'Zoe'];
const ITEMS = ['apples', 'coins', 'books', 'cards', 'pens', 'eggs', 'shells', 'stamps'];

/** A 1–3 step word problem with a worked answer ("5+3=8. 8-2=6. Answer: 6"); values stay in 0..99. */
function problem(rng: Rng): QA {
  const who = choice(rng, NAMES);
  const what = choice(rng, ITEMS);
  let value = int(rng, 2, 20);
  const sentences = [`${who} has ${value} ${what}.`];
  const work: string[] = [];
  const steps = int(rng, 1, 3);
  for (let s = 0; s < steps; s++) {
    const kind = int(rng, 0, 2);
    if ((kind === 0 || value > 60) && value >= 2) {
      const k = int(rng, 1, Math.min(9, value - 1));
      sentences.push(`${who} gives away ${k}.`);
      work.push(`${value}-${k}=${value - k}.`);
      value -= k;
    } else if (kind !== 2 || value > 45) {
      const k = int(rng, 1, 9);
      sentences.push(`${who} gets ${k} more.`);
      work.push(`${value}+${k}=${value + k}.`);
      value += k;
    } else {
      sentences.push(`${who} doubles them.`);
      work.push(`${value}*2=${value * 2}.`);
      value *= 2;
    }
  }
  sentences.push(`How many ${what} now?`);
  return { q: sentences.join(' '), a: `${work.join(' ')} Answer: ${value}` };
}

/** Arithmetic reasoning: GSM8K-style multi-step word problems with worked answers. */
export const arithmeticTask: Task = {
  name: 'arithmetic',
  ability: 'arithmetic',
  shotCounts: [0, 1, 2, 4, 8],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    return fewShotExamples(this, seed, n, opts.shots ?? 4, (rng, shots) => ({
      worked: Array.from({ length: shots }, () => problem(rng)),
      question: problem(rng),
      maxNewTokens: 64,
    }));
  },
  extract: afterAnswerMark,
  score(example: Example, output: string): number {
    const got = this.extract(output);
    return /^-?\d+$/.test(got) && Number(got) === Number(afterAnswerMark(example.answer)) ? 1 : 0;
  },
};
