/**
 * Relative layer reconstruction error ‖(W − Ŵ)X‖² / ‖WX‖² over the calibration inputs X, computed
 * from their Hessian H = (2/N) X Xᵀ (undamped) as Σ_r Δw_r H Δw_rᵀ / Σ_r w_r H w_rᵀ, so X need not be kept.
 * W and Ŵ are rows × cols row-major; H is cols × cols symmetric.
 */
export function relativeReconstructionError(w: Float64Array, wHat: Float64Array, rows: number, cols: number, h: Float64Array): number {
  const delta = w.map((v, i) => v - wHat[i]!);
  const den = quadraticFormSum(w, rows, cols, h);
  return den > 0 ? quadraticFormSum(delta, rows, cols, h) / den : 0;
}

/**
 * Σ_r x_r H x_rᵀ over the rows of x, from the upper triangle of H: x_i (H_ii x_i + 2 Σ_{j>i} H_ij x_j).
 * Rows go in tiles that stay in cache while H streams past once per tile, two rows per dot loop.
 */
function quadraticFormSum(x: Float64Array, rows: number, cols: number, h: Float64Array): number {
  const TILE = 32;
  let total = 0;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let i = 0; i < cols; i++) {
      const hi = i * cols;
      const hii = h[hi + i]!;
      let r = r0;
      for (; r + 1 < r1; r += 2) {
        const a = r * cols;
        const b = a + cols;
        let sa = 0;
        let sb = 0;
        for (let j = i + 1; j < cols; j++) {
          const hij = h[hi + j]!;
          sa += hij * x[a + j]!;
          sb += hij * x[b + j]!;
        }
        total += x[a + i]! * (hii * x[a + i]! + 2 * sa) + x[b + i]! * (hii * x[b + i]! + 2 * sb);
      }
      if (r < r1) {
        const a = r * cols;
        let s = 0;
        for (let j = i + 1; j < cols; j++) s += h[hi + j]! * x[a + j]!;
        total += x[a + i]! * (hii * x[a + i]! + 2 * s);
      }
    }
  }
  return total;
}
