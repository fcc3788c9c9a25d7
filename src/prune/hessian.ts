/**
 * The SparseGPT layer Hessian H = (2/N) Σ x xᵀ over the N input rows a linear layer saw, in float64.
 * The sum is kept unscaled and scaled once at the end: in float64 this equals the reference's running
 * average `H·N_old/N_new + (2/N_new) Σ x xᵀ` without rescaling n² entries per batch.
 */
export class HessianAccumulator {
  /** Upper triangle (i ≤ j) of Σ x xᵀ, row-major n × n. */
  private readonly sum: Float64Array;
  private count = 0;
  /** Rows of x transposed into columns, so each entry of H is a contiguous dot product. */
  private readonly tile: Float64Array;
  private static readonly TILE_ROWS = 128;

  constructor(readonly cols: number) {
    if (!Number.isSafeInteger(cols) || cols <= 0) throw new RangeError(`Hessian size must be a positive integer, got ${cols}`);
    this.sum = new Float64Array(cols * cols);
    this.tile = new Float64Array(cols * HessianAccumulator.TILE_ROWS);
  }

  /** Rows seen so far. */
  get samples(): number {
    return this.count;
  }

  /** Adds n input rows (x is n × cols, row-major). */
  add(x: Float32Array, n: number): void {
    const d = this.cols;
    if (!Number.isSafeInteger(n) || n < 0 || x.length < n * d) throw new RangeError(`Hessian input: ${n} rows of ${d} need ${n * d} values, got ${x.length}`);
    const T = HessianAccumulator.TILE_ROWS;
    const xt = this.tile;
    const h = this.sum;
    for (let t0 = 0; t0 < n; t0 += T) {
      const tn = Math.min(T, n - t0);
      for (let t = 0; t < tn; t++) {
        const xo = (t0 + t) * d;
        for (let i = 0; i < d; i++) xt[i * tn + t] = x[xo + i]!;
      }
      // Two rows of H at a time: each streamed column vector feeds two dot products.
      let i = 0;
      for (; i + 1 < d; i += 2) {
        const a0 = i * tn;
        const a1 = a0 + tn;
        let s00 = 0;
        let s01 = 0;
        let s11 = 0;
        for (let t = 0; t < tn; t++) {
          const u = xt[a0 + t]!;
          const v = xt[a1 + t]!;
          s00 += u * u;
          s01 += u * v;
          s11 += v * v;
        }
        h[i * d + i] += s00;
        h[i * d + i + 1] += s01;
        h[(i + 1) * d + i + 1] += s11;
        for (let j = i + 2; j < d; j++) {
          const b = j * tn;
          let p = 0;
          let q = 0;
          for (let t = 0; t < tn; t++) {
            const v = xt[b + t]!;
            p += xt[a0 + t]! * v;
            q += xt[a1 + t]! * v;
          }
          h[i * d + j] += p;
          h[(i + 1) * d + j] += q;
        }
      }
      if (i < d) {
        const a = i * tn;
        let s = 0;
        for (let t = 0; t < tn; t++) s += xt[a + t]! * xt[a + t]!;
        h[i * d + i] += s;
      }
    }
    this.count += n;
  }

  /** The full symmetric H = (2/N) Σ x xᵀ (a new array). */
  hessian(): Float64Array {
    const d = this.cols;
    if (this.count === 0) throw new RangeError('Hessian: no calibration rows were added');
    const scale = 2 / this.count;
    const out = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = i; j < d; j++) {
        const v = this.sum[i * d + j]! * scale;
        out[i * d + j] = v;
        out[j * d + i] = v;
      }
    return out;
  }
}
