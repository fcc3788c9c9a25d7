import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';
import { lastEntries } from './select-keep.js';

/**
 * H2O (methods.md §2): heavy hitters by the attention each entry has accumulated (running column
 * sums kept by the attention kernel, group-mean), plus a protected recent window; of a budget B,
 * heavy = ceil(B/2) and recent = B − heavy. `normalize` divides by the rows that could attend.
 */
export function h2oScorer(normalize: boolean): Scorer {
  return {
    needsAttentionSums: true,
    score(view, h) {
      if (!view.attentionSums) throw new Error('h2o: the cache does not track attention (create it with trackAttentionSums)');
      const acc = Float32Array.from(view.attentionSums(h));
      if (normalize) {
        const pos = view.positions(h);
        const next = view.processed.startPos + view.processed.n;
        for (let j = 0; j < acc.length; j++) acc[j]! /= next - pos[j]!;
      }
      return acc;
    },
    protect: (view, h, nKeep) => lastEntries(view.length(h), nKeep - Math.ceil(nKeep / 2)),
  };
}

export const h2oEntry: PressEntry = {
  name: 'h2o',
  description: 'H2O: keeps heavy hitters (most accumulated attention) plus a recent window; prefill and every decoding step',
  params: [{ name: 'normalize', default: false, description: 'divide accumulated attention by the number of rows that could attend' }],
  create: (p) => scorerPress('h2o', h2oScorer(p.normalize === true)),
};
