import type { SparseLayout } from '../formats/sparse-matrix.js';

/** Which weights a pruner removes: a fraction anywhere (per SparseGPT block / per matrix), or n of every m consecutive inputs of a row. */
export type SparsityPattern = { kind: 'unstructured'; sparsity: number } | { kind: 'nm'; n: number; m: number };

/** Builds a pattern from `--sparsity` and an optional `--pattern n:m`, rejecting anything inconsistent. */
export function parseSparsityPattern(sparsity: number | undefined, nm?: string): SparsityPattern {
  if (nm !== undefined) {
    const match = /^(\d+):(\d+)$/.exec(nm.trim());
    if (!match) throw new RangeError(`pattern must look like n:m (e.g. 2:4), got '${nm}'`);
    const n = Number(match[1]);
    const m = Number(match[2]);
    if (!(m >= 1 && n >= 1 && n < m && m <= 1024)) throw new RangeError(`pattern ${n}:${m} needs 1 ≤ n < m ≤ 1024`);
    if (sparsity !== undefined && Math.abs(sparsity - n / m) > 1e-12) throw new RangeError(`sparsity ${sparsity} contradicts pattern ${n}:${m} (which prunes ${n / m})`);
    return { kind: 'nm', n, m };
  }
  if (sparsity === undefined) throw new RangeError('give a sparsity (0 < s < 1) or an n:m pattern');
  if (!(sparsity > 0 && sparsity < 1)) throw new RangeError(`sparsity must be in (0, 1), got ${sparsity}`);
  return { kind: 'unstructured', sparsity };
}

/** Short label, e.g. `50%` or `2:4`. */
export function patternLabel(p: SparsityPattern): string {
  return p.kind === 'nm' ? `${p.n}:${p.m}` : `${+(p.sparsity * 100).toFixed(4)}%`;
}

/** Throws unless an n:m pattern fits a row of `cols` inputs. */
export function checkPatternFits(p: SparsityPattern, cols: number): void {
  if (p.kind === 'nm' && cols % p.m !== 0) throw new RangeError(`pattern ${p.n}:${p.m} needs a multiple of ${p.m} inputs per row, this matrix has ${cols}`);
}

/**
 * The sparse storage layout for matrices pruned with `p`: n:m where m divides 16 (the encoding's
 * mask word), else unstructured, which stores any zeros (e.g. 1:32).
 */
export function sparseLayoutOf(p: SparsityPattern): SparseLayout {
  return p.kind === 'nm' && 16 % p.m === 0 ? { kind: 'nm', n: p.n, m: p.m } : { kind: 'unstructured' };
}
