import { checkBudget } from './budget.js';
import type { LayerView } from './layer-view.js';
import type { Keep, Press } from './press.js';
import { sameEntries } from './same-entries.js';
import { selectKeep } from './select-keep.js';

/**
 * ShotKV's decoding phase (methods.md §11): only entries generated after the prompt (positions ≥
 * promptEnd, where generation started) are candidates; the frozen prefill entries are never
 * touched. Of the G tokens generated so far, floor((1 − decodeRatio)·G) generated entries are kept
 * per head: the `recent` newest (protected, counted inside) and the highest scores, score = the
 * newest query's attention (or the accumulated attention) summed over the layer's KV heads when
 * they hold the same entries.
 */
export function shotkvDecoding(opts: { promptEnd: number; decodeRatio: number; recent: number; accumulate: boolean }): Press {
  checkBudget({ ratio: opts.decodeRatio });
  return {
    name: 'shotkv-decoding',
    needsAttentionSums: opts.accumulate,
    compress(view: LayerView): Keep | null {
      const generated = view.processed.startPos + view.processed.n - opts.promptEnd;
      if (generated <= 0) return null;
      const nKeep = Math.floor(generated * (1 - opts.decodeRatio) + 1e-9);
      const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
      const first = heads.map((h) => firstGenerated(view.positions(h), opts.promptEnd));
      if (heads.every((h) => view.length(h) - first[h]! <= nKeep)) return null;
      const shared = sameEntries(view);
      if (opts.accumulate && !view.attentionSums) throw new Error('shotkv decoding: accumulate needs a cache that tracks attention');
      const scoreOf = (h: number) => (opts.accumulate ? view.attentionSums!(h) : view.attention(h, { rows: 1 }));
      const summed = shared ? sumOver(heads.map(scoreOf)) : undefined;
      return heads.map((h) => {
        const T = view.length(h);
        const f = first[h]!;
        const scores = (summed ?? scoreOf(h)).subarray(f, T);
        const protect = new Uint8Array(T - f).fill(1, Math.max(0, T - f - opts.recent));
        // A head with no prefill entry must keep at least one generated entry.
        const kept = selectKeep(scores, Math.max(nKeep, f === 0 ? 1 : 0), protect);
        const out = new Int32Array(f + kept.length);
        for (let j = 0; j < f; j++) out[j] = j;
        kept.forEach((k, i) => (out[f + i] = f + k));
        return out;
      });
    },
  };
}

/** Index of the first entry at a position ≥ promptEnd (positions are ascending). */
function firstGenerated(positions: Int32Array, promptEnd: number): number {
  let j = positions.length;
  while (j > 0 && positions[j - 1]! >= promptEnd) j--;
  return j;
}

function sumOver(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows[0]!.length);
  for (const r of rows) for (let j = 0; j < r.length; j++) out[j] += r[j]!;
  return out;
}
