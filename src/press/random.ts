import { counterUniform } from './counter-random.js';
import { nonNegativeInt } from './param-checks.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';

/** Random (methods.md §7): i.i.d. uniform scores keyed by (seed, layer, head, position); the baseline. */
export function randomScorer(seed: number): Scorer {
  return {
    score(view, h) {
      const pos = view.positions(h);
      return Float32Array.from(pos, (p) => counterUniform(seed, view.layer, h, p));
    },
  };
}

export const randomEntry: PressEntry = {
  name: 'random',
  description: 'Random: evicts uniformly at random (seeded), the baseline every method must beat',
  params: [{ name: 'seed', default: 0, description: 'random seed' }],
  scorer: (p) => randomScorer(nonNegativeInt(p.seed, 'seed')),
  create: (p) => scorerPress('random', randomScorer(nonNegativeInt(p.seed, 'seed'))),
};
