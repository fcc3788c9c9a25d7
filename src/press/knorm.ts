import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';

/** Knorm (methods.md §6): keeps the keys with the smallest L2 norm (score −‖k‖; RoPE does not change it). */
export const knormScorer: Scorer = {
  score(view, h) {
    const k = view.keys(h);
    const d = view.headDim;
    const s = new Float32Array(view.length(h));
    for (let j = 0; j < s.length; j++) {
      let n2 = 0;
      for (let i = 0; i < d; i++) n2 += k[j * d + i]! ** 2;
      s[j] = -Math.sqrt(n2);
    }
    return s;
  },
};

export const knormEntry: PressEntry = {
  name: 'knorm',
  description: 'Knorm: keeps the keys with the lowest L2 norm (no attention needed)',
  params: [],
  scorer: () => knormScorer,
  create: () => scorerPress('knorm', knormScorer),
};
