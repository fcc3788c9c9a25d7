/** H (after damping retries) was not positive definite, or held non-finite values. */
export class NotPositiveDefiniteError extends Error {
  override readonly name = 'NotPositiveDefiniteError';
}

/** Columns (and rows) handled together, so the long row tails are streamed once per block. */
const BLOCK = 4;

/**
 * Reverse-order Cholesky: upper-triangular R with A = R Rᵀ (row-major n × n), computed from the
 * bottom-right corner: R[j][i] = (A[j][i] − Σ_{k>i} R[j][k] R[i][k]) / R[i][i], R[i][i] from the same sum
 * with j = i. Columns go in blocks of 4 from the right; for the rows above a block, the four sums over
 * the tail right of the block share one pass over the row. Undefined when A is not positive definite.
 */
export function reverseCholesky(a: Float64Array, n: number): Float64Array | undefined {
  const r = new Float64Array(n * n);
  for (let hi = n; hi > 0; hi -= BLOCK) {
    const lo = Math.max(0, hi - BLOCK);
    // The block's own triangle, column by column.
    for (let i = hi - 1; i >= lo; i--) {
      const io = i * n;
      let s = a[io + i]!;
      for (let k = i + 1; k < n; k++) s -= r[io + k]! * r[io + k]!;
      if (!(s > 0)) return undefined;
      const d = Math.sqrt(s);
      r[io + i] = d;
      for (let j = lo; j < i; j++) {
        const jo = j * n;
        let t = a[jo + i]!;
        for (let k = i + 1; k < n; k++) t -= r[jo + k]! * r[io + k]!;
        r[jo + i] = t / d;
      }
    }
    // Rows above the block (only a full block has any: a partial one is the last, at lo = 0).
    const o0 = (hi - 1) * n;
    const o1 = o0 - n;
    const o2 = o1 - n;
    const o3 = o2 - n;
    for (let j = 0; j < lo; j++) {
      const jo = j * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = hi; k < n; k++) {
        const v = r[jo + k]!;
        s0 += v * r[o0 + k]!;
        s1 += v * r[o1 + k]!;
        s2 += v * r[o2 + k]!;
        s3 += v * r[o3 + k]!;
      }
      const tails = [s0, s1, s2, s3];
      for (let q = 0; q < BLOCK; q++) {
        const i = hi - 1 - q;
        const io = i * n;
        let t = a[jo + i]! - tails[q]!;
        for (let k = i + 1; k < hi; k++) t -= r[jo + k]! * r[io + k]!;
        r[jo + i] = t / r[io + i]!;
      }
    }
  }
  return r;
}

/**
 * Inverse of an upper-triangular matrix with a non-zero diagonal (row-major n × n), from the bottom:
 * U[i, :] = (e_i − Σ_{k>i} R[i][k] U[k, :]) / R[i][i]. Rows go in blocks of 4; the rows of U below a
 * block are streamed once for all four.
 */
export function invertUpper(r: Float64Array, n: number): Float64Array {
  const u = new Float64Array(n * n);
  for (let hi = n; hi > 0; hi -= BLOCK) {
    const lo = Math.max(0, hi - BLOCK);
    // Contributions of the finished rows k ≥ hi, each read once for the whole block.
    for (let k = hi; k < n; k++) {
      const ko = k * n;
      const c = [0, 0, 0, 0];
      for (let i = lo; i < hi; i++) c[i - lo] = r[i * n + k]!;
      const o = lo * n;
      if (hi - lo === BLOCK) {
        const [c0, c1, c2, c3] = c as [number, number, number, number];
        for (let j = k; j < n; j++) {
          const v = u[ko + j]!;
          u[o + j] -= c0 * v;
          u[o + n + j] -= c1 * v;
          u[o + 2 * n + j] -= c2 * v;
          u[o + 3 * n + j] -= c3 * v;
        }
      } else for (let i = lo; i < hi; i++) for (let j = k; j < n; j++) u[i * n + j] -= c[i - lo]! * u[ko + j]!;
    }
    // Within the block, bottom row first.
    for (let i = hi - 1; i >= lo; i--) {
      const io = i * n;
      for (let k = i + 1; k < hi; k++) {
        const c = r[io + k]!;
        const ko = k * n;
        for (let j = k; j < n; j++) u[io + j] -= c * u[ko + j]!;
      }
      const inv = 1 / r[io + i]!;
      for (let j = i + 1; j < n; j++) u[io + j] *= inv;
      u[io + i] = inv;
    }
  }
  return u;
}

/**
 * The upper Cholesky factor U of A⁻¹ (A⁻¹ = UᵀU), which SparseGPT reads instead of A⁻¹ itself.
 * With A = R Rᵀ (R upper), A⁻¹ = R⁻ᵀR⁻¹, and R⁻¹ is upper with a positive diagonal, so U = R⁻¹ by
 * uniqueness of the Cholesky factor: one factorisation and one triangular inverse instead of
 * factor, invert, multiply and factor again.
 */
export function inverseUpperFactor(a: Float64Array, n: number): Float64Array | undefined {
  const r = reverseCholesky(a, n);
  return r && invertUpper(r, n);
}

export interface InverseFactor {
  n: number;
  /** Upper factor of the dampened H⁻¹, row-major n × n. */
  u: Float64Array;
  /** Inputs that never fired (H_ii = 0): their weight columns must be zeroed. */
  dead: Uint8Array;
  /** The damping fraction that succeeded (the requested one × 10 per retry). */
  percDamp: number;
  retries: number;
}

/**
 * SparseGPT's preparation of H: dead inputs get H_ii = 1, then H + λI with λ = percDamp · mean(diag H),
 * then U. When H + λI is not positive definite, percDamp is raised ×10 and retried (`retries` reports it).
 */
export function dampedInverseFactor(h: Float64Array, n: number, opts: { percDamp?: number; maxRetries?: number } = {}): InverseFactor {
  const requested = opts.percDamp ?? 0.01;
  const maxRetries = opts.maxRetries ?? 4;
  if (!(requested > 0)) throw new RangeError(`percdamp must be positive, got ${requested}`);
  if (h.length !== n * n) throw new RangeError(`Hessian has ${h.length} values, expected ${n}² = ${n * n}`);
  for (let i = 0; i < h.length; i++) if (!Number.isFinite(h[i]!)) throw new NotPositiveDefiniteError(`Hessian holds a non-finite value at (${Math.floor(i / n)}, ${i % n})`);
  const a = Float64Array.from(h);
  const dead = new Uint8Array(n);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) {
    if (a[i * n + i] === 0) {
      dead[i] = 1;
      a[i * n + i] = 1;
    }
    meanDiag += a[i * n + i]! / n;
  }
  const diag = Float64Array.from({ length: n }, (_, i) => a[i * n + i]!);
  let percDamp = requested;
  for (let retries = 0; retries <= maxRetries; retries++, percDamp *= 10) {
    const lambda = percDamp * meanDiag;
    for (let i = 0; i < n; i++) a[i * n + i] = diag[i]! + lambda;
    const u = inverseUpperFactor(a, n);
    if (u) return { n, u, dead, percDamp, retries };
  }
  throw new NotPositiveDefiniteError(`Hessian is not positive definite even with damping ${percDamp / 10} × mean(diag H) after ${maxRetries} retries`);
}
