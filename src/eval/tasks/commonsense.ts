import { afterAnswerMark, fewShotExamples, type QA } from './few-shot.js';
import { int, sample, shuffled } from './pick.js';
import type { Rng } from '../../generate/rng.js';
import type { Example, ExampleOptions, Task } from './task.js';

/** The fixed rule base: disjoint categories, so exactly one option satisfies the asked property. */
export const COMMONSENSE_RULES: readonly { property: string; things: readonly string[] }[] = [
  { property: 'can fly', things: ['bird', 'bee', 'kite', 'plane', 'owl'] },
  { property: 'can swim', things: ['fish', 'shark', 'whale', 'frog', 'seal'] },
  { property: 'is hot', things: ['fire', 'oven', 'stove', 'sun', 'lava'] },
  { property: 'is cold', things: ['ice', 'snow', 'frost', 'fridge', 'hail'] },
  { property: 'can cut', things: ['knife', 'saw', 'scissors', 'axe', 'blade'] },
  { property: 'is food', things: ['apple', 'bread', 'rice', 'cheese', 'egg'] },
  { property: 'is worn', things: ['shirt', 'hat', 'sock', 'coat', 'shoe'] },
  { property: 'gives light', things: ['lamp', 'candle', 'torch', 'bulb', 'star'] },
  { property: 'is soft', things: ['pillow', 'wool', 'cotton', 'feather', 'sponge'] },
];

export const OPTION_LETTERS = ['A', 'B', 'C', 'D'];

/** One multiple-choice question: the asked property, the right thing and its letter among the listed options. */
export interface CommonsenseDraw {
  q: string;
  property: string;
  right: string;
  letter: string;
}

export function drawCommonsense(rng: Rng): CommonsenseDraw {
  const rule = COMMONSENSE_RULES[int(rng, 0, COMMONSENSE_RULES.length - 1)]!;
  const right = rule.things[int(rng, 0, rule.things.length - 1)]!;
  const wrongRules = sample(rng, COMMONSENSE_RULES.filter((r) => r !== rule), 3);
  const options = shuffled(rng, [right, ...wrongRules.map((r) => r.things[int(rng, 0, r.things.length - 1)]!)]);
  const listed = options.map((o, k) => `${OPTION_LETTERS[k]}) ${o}`).join(' ');
  return { q: `Which one ${rule.property}? ${listed}`, property: rule.property, right, letter: OPTION_LETTERS[options.indexOf(right)]! };
}

/** The answer up to its letter: the rule stated first, for `thing`. */
export const commonsenseReason = (thing: string, property: string) => `${thing} ${property}. Answer:`;

/** One question and its answer: the rule stated first, then the letter. */
export function commonsenseQuestion(rng: Rng): QA {
  const { q, property, right, letter } = drawCommonsense(rng);
  return { q, a: `${commonsenseReason(right, property)} ${letter}` };
}

/** Commonsense: multiple choice over a fixed rule base, answered with a reasoning line before the letter. */
export const commonsenseTask: Task = {
  name: 'commonsense',
  ability: 'commonsense',
  shotCounts: [0, 1, 2, 4, 8],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    return fewShotExamples(this, seed, n, opts.shots ?? 4, (rng, shots) => ({
      worked: Array.from({ length: shots }, () => commonsenseQuestion(rng)),
      question: commonsenseQuestion(rng),
      maxNewTokens: 40,
    }));
  },
  extract: afterAnswerMark,
  score(example: Example, output: string): number {
    return this.extract(output) === afterAnswerMark(example.answer) ? 1 : 0;
  },
};
