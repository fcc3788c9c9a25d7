import type { LayerView } from './layer-view.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';
import { lastEntries } from './select-keep.js';

/**
 * TOVA (methods.md §5): the newest query's attention averaged over all query heads of the layer,
 * one score per position shared by every KV head (when the heads hold the same positions; a
 * ragged layer, e.g. after AdaKV, falls back to each head's own group). `keepLast` is kvpress parity.
 */
export function tovaScorer(keepLast: boolean): Scorer {
  return {
    score(view, h) {
      if (!sameEntries(view)) return Float32Array.from(view.attention(h, { rows: 1 }));
      const T = view.length(h);
      const s = new Float32Array(T);
      for (let k = 0; k < view.kvHeads; k++) {
        const a = view.attention(k, { rows: 1 });
        for (let j = 0; j < T; j++) s[j] += a[j]! / view.kvHeads;
      }
      return s;
    },
    protect: keepLast ? (view, h) => lastEntries(view.length(h), 1) : undefined,
  };
}

function sameEntries(view: LayerView): boolean {
  const p0 = view.positions(0);
  for (let h = 1; h < view.kvHeads; h++) {
    const p = view.positions(h);
    if (p.length !== p0.length || p.some((v, j) => v !== p0[j])) return false;
  }
  return true;
}

export const tovaEntry: PressEntry = {
  name: 'tova',
  description: "TOVA: keeps the entries the newest query attends to most (averaged over the layer's heads); prefill and decoding",
  params: [{ name: 'keepLast', default: false, description: 'always keep the newest entry (kvpress parity)' }],
  scorer: (p) => tovaScorer(p.keepLast === true),
  create: (p) => scorerPress('tova', tovaScorer(p.keepLast === true)),
};
