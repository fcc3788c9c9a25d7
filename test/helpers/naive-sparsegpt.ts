import type { SparsityPattern } from '../../src/prune/sparsity-pattern.js';

// Naive float64 SparseGPT oracles, written independently of src/prune.

export function naiveHessian(x: Float32Array, n: number, d: number): Float64Array {
  const h = new Float64Array(d * d);
  for (let t = 0; t < n; t++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) h[i * d + j] += (2 / n) * x[t * d + i]! * x[t * d + j]!;
  return h;
}

/** Gauss-Jordan inverse, then the textbook lower Cholesky of the inverse; U is its transpose. */
export function naiveInverseUpperFactor(a: Float64Array, n: number): Float64Array {
  const m = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => a[i * n + j]!), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  const inv = (i: number, j: number) => m[i]![n + j]!;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = inv(i, j);
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j]!;
    }
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) u[i * n + j] = l[j * n + i]!;
  return u;
}

/**
 * SparseGPT without lazy batching: same block boundaries for the mask, every update applied to all
 * later columns at once. `round(r, i, x)`, when given, is the value a kept weight is fixed to (the
 * joint sparse + quantized sweep): its error is compensated like a pruned weight's.
 */
export function naiveSparseGpt(
  w0: Float64Array,
  rows: number,
  cols: number,
  u: Float64Array,
  p: SparsityPattern,
  B: number,
  round?: (r: number, i: number, x: number) => number,
): { w: Float64Array; mask: Uint8Array } {
  const w = Float64Array.from(w0);
  const mask = new Uint8Array(rows * cols);
  const sal = (r: number, c: number) => (w[r * cols + c]! / u[c * cols + c]!) ** 2;
  for (let i1 = 0; i1 < cols; i1 += B) {
    const i2 = Math.min(i1 + B, cols);
    if (p.kind === 'unstructured') {
      const cand: [number, number, number][] = [];
      for (let r = 0; r < rows; r++) for (let c = i1; c < i2; c++) cand.push([sal(r, c), r, c]);
      cand.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
      const k = Math.floor(p.sparsity * (i2 - i1) * rows);
      for (let q = 0; q < k; q++) mask[cand[q]![1] * cols + cand[q]![2]] = 1;
    }
    for (let i = i1; i < i2; i++)
      for (let r = 0; r < rows; r++) {
        // A row's n:m choice reads only its own weights, which only its own updates change.
        if (p.kind === 'nm' && (i - i1) % p.m === 0) {
          const g = Array.from({ length: p.m }, (_, k) => i + k).sort((a, b) => sal(r, a) - sal(r, b) || a - b);
          for (let k = 0; k < p.n; k++) mask[r * cols + g[k]!] = 1;
        }
        const x = w[r * cols + i]!;
        const q = mask[r * cols + i] ? 0 : round ? round(r, i, x) : x;
        if (q === x) continue;
        const e = (x - q) / u[i * cols + i]!;
        w[r * cols + i] = q;
        for (let j = i + 1; j < cols; j++) w[r * cols + j] -= e * u[i * cols + j]!;
      }
  }
  return { w, mask };
}

export function dampedNaive(h: Float64Array, n: number, percDamp: number): Float64Array {
  const a = Float64Array.from(h);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += a[i * n + i]! / n;
  for (let i = 0; i < n; i++) a[i * n + i] += percDamp * mean;
  return a;
}

export function reconstructionError(w: Float64Array, wHat: Float64Array, rows: number, cols: number, x: Float32Array, n: number): number {
  let s = 0;
  for (let t = 0; t < n; t++)
    for (let r = 0; r < rows; r++) {
      let d = 0;
      for (let c = 0; c < cols; c++) d += (w[r * cols + c]! - wHat[r * cols + c]!) * x[t * cols + c]!;
      s += d * d;
    }
  return s;
}
