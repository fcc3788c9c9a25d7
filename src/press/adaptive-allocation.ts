import type { HeadAllocation } from './head-allocation.js';
import { maskIndices, selectKeep } from './select-keep.js';

/**
 * AdaKV's head-wise allocation (methods.md §9, kvpress version): each head's protected entries and
 * its floor(α·n_keep) best (protected ones counted first) are forced; the rest of the layer's Σ n_keep is filled with the globally
 * highest scores (ties: lower index, then lower head), so heads end ragged and the layer total is exact.
 */
export function adaptiveAllocation(alpha: number): HeadAllocation {
  return (scores, protect, nKeep) => {
    const H = scores.length;
    const forced = scores.map((s, h) => {
      const mask = new Uint8Array(s.length);
      // Protected entries rank first, so they fill the safeguard before any scored entry does.
      for (const i of selectKeep(s, Math.floor(alpha * nKeep[h]!), protect[h])) mask[i] = 1;
      return mask;
    });
    let room = nKeep.reduce((a, b) => a + b, 0);
    const candidates: { h: number; i: number; s: number }[] = [];
    for (let h = 0; h < H; h++) {
      const s = scores[h]!;
      for (let i = 0; i < s.length; i++) {
        if (forced[h]![i]) room--;
        else candidates.push({ h, i, s: Number.isNaN(s[i]!) ? -Infinity : s[i]! });
      }
    }
    candidates.sort((a, b) => (a.s === b.s ? a.i - b.i || a.h - b.h : b.s > a.s ? 1 : -1));
    for (let c = 0; c < Math.min(room, candidates.length); c++) forced[candidates[c]!.h]![candidates[c]!.i] = 1;
    return forced.map(maskIndices);
  };
}
