import type { HeadCache } from '../cache/head-cache.js';
import { attentionWeights } from '../kernels/masked-softmax.js';

/**
 * Softmax weights of the last `rows` of n query rows on one KV head's entries, averaged over the
 * head's GQA group (methods.md §0.1): row r's softmax runs over every entry at a position ≤ its own
 * (and inside the sliding window, as in the forward pass). Returns rows × head.length; only these
 * rows are ever materialised, never T × T.
 */
export function lastRowsAttention(
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
  const T = head.length;
  const out = new Float32Array(rows * T);
  const w = new Float64Array(T);
  for (let r = 0; r < rows; r++) {
    const t = n - rows + r;
    for (let g = 0; g < groupSize; g++) {
      attentionWeights(w, queries, (t * nHeads + kvHead * groupSize + g) * head.headDim, head, startPos + t, slidingWindow);
      for (let j = 0; j < T; j++) out[r * T + j] += w[j]! / groupSize;
    }
  }
  return out;
}
