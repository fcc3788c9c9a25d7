import type { Rng } from '../../generate/rng.js';
import { checkCount, checkShots, firstLine } from './few-shot.js';
import { choice, digits, exampleRng, int } from './pick.js';
import type { Example, ExampleOptions, Task } from './task.js';

const FILLER = [
  'The grass is green.', 'The sky is blue.', 'The sun is yellow.', 'Here we go.', 'There and back again.',
  'The river runs to the sea.', 'A cat sleeps on the mat.', 'The wind blows over the hill.', 'Birds sing in the morning.',
];
const WORDS = ['apple', 'river', 'tiger', 'candle', 'silver', 'garden', 'rocket', 'violin', 'pepper', 'marble', 'falcon', 'lemon'];

/** Filler sentences up to about `chars` characters. */
function filler(rng: Rng, chars: number): string[] {
  const out: string[] = [];
  let len = 0;
  while (len < chars) {
    const s = choice(rng, FILLER);
    out.push(s);
    len += s.length + 1;
  }
  return out;
}

/** A long document with one needle (passkey, key-value among many, or magic word) at a random depth. */
function document(rng: Rng, length: number): { context: string; question: string; answer: string } {
  const variant = int(rng, 0, 2);
  if (variant === 1) {
    // Many key-value lines: the distractors are the other values.
    const lines: string[] = [];
    const keys = new Set<string>();
    while (lines.join('\n').length < length - 40) {
      const key = digits(rng, 3);
      if (keys.has(key)) continue;
      keys.add(key);
      lines.push(`key ${key} = ${digits(rng, 4)}.`);
    }
    const at = int(rng, 0, lines.length - 1);
    const [, key, value] = /key (\d+) = (\d+)/.exec(lines[at]!)!;
    return { context: lines.join('\n') + '\n', question: `Q: What is key ${key}?\nA:`, answer: ` ${value}` };
  }
  const [needle, question, answer] =
    variant === 0
      ? ((k) => [`The pass key is ${k}. Remember it.`, 'Q: What is the pass key?\nA:', ` ${k}`])(digits(rng, 5))
      : ((w) => [`The magic word is ${w}.`, 'Q: What is the magic word?\nA:', ` ${w}`])(choice(rng, WORDS));
  const sentences = filler(rng, length - needle.length - 40);
  sentences.splice(int(rng, 0, sentences.length), 0, needle);
  return { context: sentences.join(' ') + '\n', question, answer };
}

/** Long-context retrieval: passkey, multi-key-value and needle-in-filler, `length` characters of context (default 1024). */
export const retrievalTask: Task = {
  name: 'retrieval',
  ability: 'retrieval',
  shotCounts: [0],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    checkShots(this.name, opts.shots ?? 0, this.shotCounts);
    checkCount(this.name, n);
    const length = opts.length ?? 1024;
    if (!Number.isSafeInteger(length) || length < 64) throw new RangeError(`retrieval: length ${length} must be an integer ≥ 64`);
    return Array.from({ length: n }, (_, i) => {
      const d = document(exampleRng(this.name, seed, i), length);
      return {
        id: `${this.name}-${seed}-${i}`,
        task: this.name,
        segments: [
          { kind: 'other', text: d.context },
          { kind: 'question', text: d.question },
        ],
        answer: d.answer,
        maxNewTokens: 16,
        stop: ['\n'],
      };
    });
  },
  extract: firstLine,
  score(example: Example, output: string): number {
    return this.extract(output) === example.answer.trim() ? 1 : 0;
  },
};
