import type { Rng } from '../../generate/rng.js';
import { checkCount, checkShots, firstLine } from './few-shot.js';
import { exampleRng, int, sample } from './pick.js';
import type { Example, ExampleOptions, Task } from './task.js';

/** Syllables of made-up place names: no fact about them can be memorised, so the answer is only in the context. */
const SYLLABLES = ['vor', 'mi', 'ret', 'qua', 'sel', 'to', 'lun', 'dra', 'ka', 'bel', 'nor', 'fi', 'zan', 'pe', 'ul', 'gor'];

function name(rng: Rng): string {
  const n = Array.from({ length: int(rng, 2, 3) }, () => SYLLABLES[int(rng, 0, SYLLABLES.length - 1)]!).join('');
  return n[0]!.toUpperCase() + n.slice(1);
}

/** `k` distinct made-up countries, each with a made-up capital. */
function world(rng: Rng, k: number): [string, string][] {
  const out = new Map<string, string>();
  while (out.size < k) {
    const c = name(rng);
    const x = name(rng);
    if (!out.has(c) && c !== x) out.set(c, x);
  }
  return [...out.entries()];
}

/**
 * Knowledge from the context (the paper's contrast with parametric knowledge): a document states the
 * capitals of `facts` made-up countries; shots ask about some of them in the knowledge task's Q/A
 * form, the question about another. The answer is stated once, in the document, so a compression
 * that drops that sentence destroys it — question-agnostic compression cannot know which one to keep.
 */
export const contextKnowledgeTask: Task = {
  name: 'context-knowledge',
  ability: 'knowledge',
  shotCounts: [0, 1, 2, 4],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    const shots = opts.shots ?? 2;
    checkShots(this.name, shots, this.shotCounts);
    checkCount(this.name, n);
    const facts = Math.max(shots + 2, Math.floor((opts.length ?? 480) / 40));
    return Array.from({ length: n }, (_, i) => {
      const rng = exampleRng(this.name, seed, i);
      const w = world(rng, facts);
      const [asked, ...worked] = sample(rng, w, shots + 1);
      const doc = w.map(([c, x]) => `The capital of ${c} is ${x}.`).join(' ') + '\n\n';
      return {
        id: `${this.name}-${seed}-${i}`,
        task: this.name,
        segments: [
          { kind: 'other' as const, text: doc },
          ...worked.map(([c, x]) => ({ kind: 'shot' as const, text: `Q: What is the capital of ${c}?\nA: ${x}\n\n` })),
          { kind: 'question' as const, text: `Q: What is the capital of ${asked![0]}?\nA:` },
        ],
        answer: ` ${asked![1]}`,
        maxNewTokens: 16,
        stop: ['\n'],
      };
    });
  },
  extract: firstLine,
  score(example: Example, output: string): number {
    return this.extract(output).toLowerCase() === example.answer.trim().toLowerCase() ? 1 : 0;
  },
};
