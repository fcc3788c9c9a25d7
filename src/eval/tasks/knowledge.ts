import { fewShotExamples, firstLine, type QA } from './few-shot.js';
import { choice, sample } from './pick.js';
import type { Example, ExampleOptions, Task } from './task.js';

const CAPITALS: readonly [string, string][] = [
  ['France', 'Paris'], ['Spain', 'Madrid'], ['Italy', 'Rome'], ['Germany', 'Berlin'], ['Japan', 'Tokyo'],
  ['China', 'Beijing'], ['Egypt', 'Cairo'], ['Kenya', 'Nairobi'], ['Peru', 'Lima'], ['Chile', 'Santiago'],
  ['Canada', 'Ottawa'], ['Norway', 'Oslo'], ['Sweden', 'Stockholm'], ['Finland', 'Helsinki'], ['Poland', 'Warsaw'],
  ['Greece', 'Athens'], ['Turkey', 'Ankara'], ['India', 'New Delhi'], ['Russia', 'Moscow'], ['Cuba', 'Havana'],
  ['Austria', 'Vienna'], ['Portugal', 'Lisbon'], ['Ireland', 'Dublin'], ['Denmark', 'Copenhagen'], ['Hungary', 'Budapest'],
  ['Mexico', 'Mexico City'], ['Brazil', 'Brasilia'], ['Argentina', 'Buenos Aires'], ['Australia', 'Canberra'], ['Thailand', 'Bangkok'],
];
const SYMBOLS: readonly [string, string][] = [
  ['gold', 'Au'], ['silver', 'Ag'], ['iron', 'Fe'], ['copper', 'Cu'], ['lead', 'Pb'], ['tin', 'Sn'],
  ['oxygen', 'O'], ['hydrogen', 'H'], ['carbon', 'C'], ['sodium', 'Na'], ['helium', 'He'], ['neon', 'Ne'],
  ['zinc', 'Zn'], ['mercury', 'Hg'], ['sulfur', 'S'], ['calcium', 'Ca'],
];
const LEGS: readonly [string, string][] = [
  ['a spider', 'eight'], ['an ant', 'six'], ['a dog', 'four'], ['a bird', 'two'], ['a snake', 'zero'],
  ['a crab', 'ten'], ['a horse', 'four'], ['a bee', 'six'], ['a human', 'two'], ['a fish', 'zero'],
];

/** The fixed fact base: the model must recall it; shots only show the question form. */
export const KNOWLEDGE_FACTS: readonly QA[] = [
  ...CAPITALS.map(([c, x]) => ({ q: `What is the capital of ${c}?`, a: x })),
  ...SYMBOLS.map(([e, s]) => ({ q: `What is the symbol of ${e}?`, a: s })),
  ...LEGS.map(([a, n]) => ({ q: `How many legs does ${a} have?`, a: n })),
];

/** World knowledge: recall of the fixed fact base in few-shot QA form. */
export const knowledgeTask: Task = {
  name: 'knowledge',
  ability: 'knowledge',
  shotCounts: [0, 1, 2, 4, 8],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    return fewShotExamples(this, seed, n, opts.shots ?? 4, (rng, shots) => {
      const question = choice(rng, KNOWLEDGE_FACTS);
      const worked = sample(rng, KNOWLEDGE_FACTS.filter((f) => f !== question), shots);
      return { worked, question, maxNewTokens: 24 };
    });
  },
  extract: firstLine,
  score(example: Example, output: string): number {
    return this.extract(output).toLowerCase() === example.answer.trim().toLowerCase() ? 1 : 0;
  },
};
