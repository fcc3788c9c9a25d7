import { counterUniform } from './counter-random.js';
import { nonNegativeInt } from './param-checks.js';
import type { PressEntry } from './registry-entry.js';
import { ShotPress } from './shot-press.js';

/** Random-Shot (methods.md §11): ShotKV's whole-shot granularity with seeded random shot scores (and random entry scores when the protected text is cut), its ablation baseline. */
export const randomShotEntry: PressEntry = {
  name: 'random-shot',
  description: "Random-Shot: keeps or drops whole few-shot examples at random (ShotKV's ablation baseline)",
  params: [
    { name: 'seed', default: 0, description: 'random seed' },
    { name: 'stopAtFirstMiss', default: false, description: 'stop at the first shot that does not fit instead of trying smaller ones' },
    { name: 'keepProtected', default: false, description: "keep system prompt and question whole even beyond the budget (the paper's reading)" },
  ],
  create: (p) => {
    const seed = nonNegativeInt(p.seed, 'seed');
    return new ShotPress(
      'random-shot',
      (view, shots) => shots.map((_, i) => counterUniform(seed, view.layer, i, 0)),
      (view, h) => Float64Array.from(view.positions(h), (pos) => counterUniform(seed, view.layer, pos, 1)),
      { stopAtFirstMiss: p.stopAtFirstMiss === true, keepProtected: p.keepProtected === true },
    );
  },
};
