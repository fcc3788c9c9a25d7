import type { HeadCache } from '../cache/head-cache.js';

/**
 * Softmax weights of the last `rows` of n query rows on one KV head's entries, averaged over the
 * head's GQA group (methods.md §0.1): row r's softmax runs over every entry at a position ≤ its own
 * (and inside the sliding window, as in the forward pass). Returns rows × head.length; only these
 * rows are ever materialised, never T × T.
 */
export function windowAttention(
  queries: Float32Array,
  n: number,
  startPos: number,
  nHeads: number,
  kvHead: number,
  groupSize: number,
  head: Pick<HeadCache, 'headDim' | 'length' | 'keys' | 'positions'>,
  rows: number,
  slidingWindow?: number,
): Float32Array {
  const d = head.headDim;
  const T = head.length;
  const { keys, positions } = head;
  const out = new Float32Array(rows * T);
  const s = new Float64Array(T);
  const scale = 1 / Math.sqrt(d);
  for (let r = 0; r < rows; r++) {
    const t = n - rows + r;
    const pos = startPos + t;
    const lo = slidingWindow === undefined ? -Infinity : pos - slidingWindow;
    for (let g = 0; g < groupSize; g++) {
      const qo = (t * nHeads + kvHead * groupSize + g) * d;
      let max = -Infinity;
      for (let j = 0; j < T; j++) {
        const p = positions[j]!;
        if (p > pos || p <= lo) {
          s[j] = -Infinity;
          continue;
        }
        let dot = 0;
        for (let i = 0; i < d; i++) dot += queries[qo + i]! * keys[j * d + i]!;
        s[j] = dot * scale;
        if (s[j]! > max) max = s[j]!;
      }
      let sum = 0;
      for (let j = 0; j < T; j++) {
        s[j] = s[j] === -Infinity ? 0 : Math.exp(s[j]! - max);
        sum += s[j]!;
      }
      const o = r * T;
      for (let j = 0; j < T; j++) out[o + j] += s[j]! / sum / groupSize;
    }
  }
  return out;
}
