import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';

/**
 * KeyDiff (methods.md §17): a key that points where the other keys point adds little, so each
 * head's anchor is the mean of its unit-length keys and an entry scores −cos(k_j, anchor) — the
 * most distinctive keys are kept. No queries, so it works before the question is known.
 */
export const keydiffScorer: Scorer = {
  score(view, h) {
    const k = view.keys(h);
    const d = view.headDim;
    const T = view.length(h);
    const norms = new Float64Array(T);
    const anchor = new Float64Array(d);
    for (let j = 0; j < T; j++) {
      let n2 = 0;
      for (let i = 0; i < d; i++) n2 += k[j * d + i]! ** 2;
      norms[j] = Math.sqrt(n2);
      // A zero key has no direction: it adds nothing to the anchor (and scores 0 below).
      if (norms[j]! > 0) for (let i = 0; i < d; i++) anchor[i] += k[j * d + i]! / norms[j]! / T;
    }
    let anchorNorm = 0;
    for (let i = 0; i < d; i++) anchorNorm += anchor[i]! ** 2;
    anchorNorm = Math.sqrt(anchorNorm);
    const s = new Float32Array(T);
    for (let j = 0; j < T; j++) {
      if (norms[j] === 0 || anchorNorm === 0) continue;
      let dot = 0;
      for (let i = 0; i < d; i++) dot += k[j * d + i]! * anchor[i]!;
      s[j] = -dot / (norms[j]! * anchorNorm);
    }
    return s;
  },
};

export const keydiffEntry: PressEntry = {
  name: 'keydiff',
  description: 'KeyDiff: keeps the keys least similar (cosine) to the mean key direction (no attention or question needed)',
  params: [],
  scorer: () => keydiffScorer,
  create: () => scorerPress('keydiff', keydiffScorer),
};
