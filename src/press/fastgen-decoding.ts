import type { LayerView } from './layer-view.js';
import type { FastGenPolicy, FastGenRates } from './fastgen-profile.js';
import type { Keep, Press } from './press.js';
import { maskIndices, selectKeep } from './select-keep.js';
import { PUNCT_TOKEN, SPECIAL_TOKEN } from './token-class.js';

/**
 * FastGen's generation phase (methods.md §12): after each step every KV head applies its profiled
 * policy to its entries, the new one included — special/punct parts keep only those classes, the
 * local part the entries within floor(r_l · length) of the next position, the frequent part the
 * floor(r_f · length) entries with most accumulated attention (H2O-like running sums) among the
 * rest; full heads keep everything. `length` is the sequence length so far (kvtrim choice).
 * Layers without a profile (not compressed at prefill) are left alone.
 */
export function fastgenDecoding(
  policies: (layer: number) => readonly FastGenPolicy[] | undefined,
  classesOf: (view: LayerView) => Uint8Array,
  rates: () => Pick<FastGenRates, 'local' | 'frequent'>,
): Press {
  return {
    name: 'fastgen-decoding',
    needsAttentionSums: true,
    compress(view: LayerView): Keep | null {
      const pol = policies(view.layer);
      if (!pol) return null;
      if (!view.attentionSums) throw new Error('fastgen decoding: the cache does not track attention');
      const classes = classesOf(view);
      const next = view.processed.startPos + view.processed.n;
      const { local, frequent } = rates();
      const wl = Math.max(1, Math.floor(local * next));
      const nf = Math.floor(frequent * next);
      const keep = pol.map((policy, h) => {
        const T = view.length(h);
        if (policy === 'full') return maskIndices(new Uint8Array(T).fill(1));
        const parts = new Set(policy.split('+'));
        const pos = view.positions(h);
        const classBits = (parts.has('special') ? SPECIAL_TOKEN : 0) | (parts.has('punct') ? PUNCT_TOKEN : 0);
        const m = Uint8Array.from(pos, (p) => (classes[p]! & classBits || (parts.has('local') && p > next - wl) ? 1 : 0));
        if (parts.has('frequent')) {
          const acc = view.attentionSums!(h);
          const cand = Array.from({ length: T }, (_, j) => j).filter((j) => !m[j]);
          for (const i of selectKeep(cand.map((j) => acc[j]!), Math.min(nf, cand.length))) m[cand[i]!] = 1;
        }
        // A head whose classes are absent from its entries still needs one entry to attend to.
        if (!m.includes(1)) m[T - 1] = 1;
        return maskIndices(m);
      });
      return keep.every((k, h) => k.length === view.length(h)) ? null : keep;
    },
  };
}
