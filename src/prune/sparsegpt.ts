import type { InverseFactor } from './cholesky.js';
import { gridCode, gridOf, gridValue, QUANT_BLOCK, type PruneQuant, type QuantGrid } from './quant-grid.js';
import { selectSmallest, selectSmallestInGroup } from './select-smallest.js';
import { checkPatternFits, type SparsityPattern } from './sparsity-pattern.js';

export interface SweepResult {
  /** SparseGPT's loss estimate Σ (w − q)² / U_ii² / 2 over the pruned weights (with a grid, the rounded ones too). */
  loss: number;
  /** Weights the mask set to zero (dead-input columns are zeroed first; with saliency 0 the mask takes them first). */
  pruned: number;
}

/** Rows whose lazy updates are applied together, so each row of U is streamed once per tile. */
const ROW_TILE = 16;

/**
 * SparseGPT's blocked column sweep (methods.md §14 step 5) on W (rows × cols, row-major, float64, in
 * place) with U the upper factor of the dampened H⁻¹. Columns go left to right in blocks of
 * `blockSize`; a pruned weight's error (w / U_ii) is pushed onto the rest of its block at once and
 * onto the columns right of the block in one lazy update after it. Unpruned weights have zero error,
 * and rows never mix once a block's mask is fixed, so rows are swept on their own, in tiles.
 *
 * With `grid` (the paper's joint sparsification and quantisation) every kept weight is also rounded
 * to its q8_0 / q4_0 block's grid as it is fixed, and its rounding error w − q is compensated like a
 * pruned weight's. The scales are fixed beforehand: chosen when the sweep reaches a block, they
 * would be outgrown by the pruning updates still to come inside it, and clamped weights would cost
 * more than the rounding the update saves.
 */
export function sparseGptSweep(w: Float64Array, rows: number, cols: number, factor: InverseFactor, pattern: SparsityPattern, blockSize = 128, grid?: QuantGrid): SweepResult {
  if (factor.n !== cols) throw new RangeError(`inverse factor is ${factor.n} × ${factor.n}, the matrix has ${cols} inputs`);
  if (w.length !== rows * cols) throw new RangeError(`matrix has ${w.length} values, expected ${rows} × ${cols}`);
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
  if (pattern.kind === 'nm' && blockSize % pattern.m !== 0) throw new RangeError(`block size ${blockSize} is not a multiple of m = ${pattern.m}`);
  checkPatternFits(pattern, cols);
  if (grid && (cols % QUANT_BLOCK !== 0 || grid.scales.length !== (rows * cols) / QUANT_BLOCK)) throw new RangeError(`a ${grid.quant} grid needs whole 32-column blocks and one scale for each (${rows}×${cols}, ${grid.scales.length} scales)`);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) throw new RangeError(`weight (${Math.floor(i / cols)}, ${i % cols}) is not finite`);
  const u = factor.u;
  for (let c = 0; c < cols; c++) if (factor.dead[c]) for (let r = 0; r < rows; r++) w[r * cols + c] = 0;

  const diag = Float64Array.from({ length: cols }, (_, i) => u[i * cols + i]!);
  const saliency = new Float64Array(rows * blockSize);
  const mask = new Uint8Array(rows * blockSize);
  const err = new Float64Array(ROW_TILE * blockSize);
  let loss = 0;
  let pruned = 0;
  for (let i1 = 0; i1 < cols; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, cols);
    const width = i2 - i1;
    if (pattern.kind === 'unstructured') {
      // Adaptive mask: the block's smallest w²/U_ii², chosen over all rows on the current weights.
      const sal = saliency.subarray(0, rows * width);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < width; c++) {
          const v = w[r * cols + i1 + c]! / diag[i1 + c]!;
          sal[r * width + c] = v * v;
        }
      selectSmallest(sal, Math.floor(pattern.sparsity * width * rows), mask.subarray(0, rows * width));
    }
    for (let t0 = 0; t0 < rows; t0 += ROW_TILE) {
      const t1 = Math.min(t0 + ROW_TILE, rows);
      for (let r = t0; r < t1; r++) {
        const ro = r * cols;
        const mo = r * width;
        const eo = (r - t0) * blockSize;
        for (let c = 0; c < width; c++) {
          const i = i1 + c;
          if (pattern.kind === 'nm' && c % pattern.m === 0) {
            for (let g = 0; g < pattern.m; g++) {
              const v = w[ro + i + g]! / diag[i + g]!;
              saliency[mo + c + g] = v * v;
            }
            selectSmallestInGroup(saliency, mo + c, pattern.m, pattern.n, mask);
          }
          const prune = mask[mo + c] === 1;
          if (!prune && !grid) {
            err[eo + c] = 0;
            continue;
          }
          let q = 0;
          if (!prune) {
            const d = grid!.scales[Math.floor((ro + i) / QUANT_BLOCK)]!;
            q = gridValue(grid!.quant, gridCode(grid!.quant, w[ro + i]!, d), d);
          }
          const e = (w[ro + i]! - q) / diag[i]!;
          err[eo + c] = e;
          loss += (e * e) / 2;
          w[ro + i] = q;
          if (prune) pruned++;
          if (e === 0) continue;
          const uo = i * cols;
          for (let j = i + 1; j < i2; j++) w[ro + j] -= e * u[uo + j]!;
        }
      }
      // Lazy batch update W[tile, i2:] −= Err[tile, block] · U[block, i2:], one row of U at a time over the
      // tile's rows so it is read once per tile; each weight still sees its updates in column order.
      for (let c = 0; c < width; c++) {
        const uo = (i1 + c) * cols;
        for (let r = t0; r < t1; r++) {
          const e = err[(r - t0) * blockSize + c]!;
          if (e === 0) continue;
          const ro = r * cols;
          for (let j = i2; j < cols; j++) w[ro + j] -= e * u[uo + j]!;
        }
      }
    }
  }
  return { loss, pruned };
}

/**
 * Joint pruning and quantisation of W (in place): the grid is the one ggml would choose for the
 * weights a prune-only sweep ends at (the joint sweep ends near them), then the sweep rounds every
 * kept weight onto it. Returns the grid; W's values all lie on it.
 */
export function sparseGptQuantizedSweep(w: Float64Array, rows: number, cols: number, factor: InverseFactor, pattern: SparsityPattern, blockSize: number | undefined, quant: PruneQuant): QuantGrid {
  const plain = Float64Array.from(w);
  sparseGptSweep(plain, rows, cols, factor, pattern, blockSize);
  const grid = gridOf(quant, plain);
  sparseGptSweep(w, rows, cols, factor, pattern, blockSize, grid);
  return grid;
}
