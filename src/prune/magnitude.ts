import { selectSmallest, selectSmallestInGroup } from './select-smallest.js';
import { checkPatternFits, type SparsityPattern } from './sparsity-pattern.js';

/**
 * Magnitude pruning (the SparseGPT paper's baseline): zeroes the smallest |w| of the whole matrix
 * (exactly floor(sparsity · rows · cols) of them), or the n smallest of every m consecutive inputs of
 * a row. W is rows × cols row-major, changed in place; returns how many weights were zeroed.
 */
export function magnitudePrune(w: Float64Array, rows: number, cols: number, pattern: SparsityPattern): number {
  if (w.length !== rows * cols) throw new RangeError(`matrix has ${w.length} values, expected ${rows} × ${cols}`);
  checkPatternFits(pattern, cols);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) throw new RangeError(`weight (${Math.floor(i / cols)}, ${i % cols}) is not finite`);
  const abs = w.map(Math.abs);
  const mask = new Uint8Array(w.length);
  if (pattern.kind === 'unstructured') selectSmallest(abs, Math.floor(pattern.sparsity * w.length), mask);
  else for (let g = 0; g < w.length; g += pattern.m) selectSmallestInGroup(abs, g, pattern.m, pattern.n, mask);
  let pruned = 0;
  for (let i = 0; i < w.length; i++)
    if (mask[i]) {
      w[i] = 0;
      pruned++;
    }
  return pruned;
}
