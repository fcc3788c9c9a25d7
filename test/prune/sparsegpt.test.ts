import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dampedInverseFactor, inverseUpperFactor, NotPositiveDefiniteError } from '../../src/prune/cholesky.js';
import { HessianAccumulator } from '../../src/prune/hessian.js';
import { magnitudePrune } from '../../src/prune/magnitude.js';
import { relativeReconstructionError } from '../../src/prune/reconstruction-error.js';
import { sparseGptSweep } from '../../src/prune/sparsegpt.js';
import { parseSparsityPattern, type SparsityPattern } from '../../src/prune/sparsity-pattern.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { dampedNaive, naiveHessian, naiveInverseUpperFactor, naiveSparseGpt, reconstructionError } from '../helpers/naive-sparsegpt.js';

const rng = mulberry32;

/** n × d inputs with correlated columns (a random mixing of fewer latent factors plus noise), like real activations. */
function correlatedInputs(n: number, d: number, seed: number, rowSeed = seed): Float32Array {
  const r = rng(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const k = Math.max(2, Math.floor(d / 3));
  const mix = Float64Array.from({ length: k * d }, g);
  const scale = Float64Array.from({ length: d }, () => 0.2 + 2 * r());
  const x = new Float32Array(n * d);
  const rr = rng(rowSeed + 0x9e37);
  const gr = () => Math.sqrt(-2 * Math.log(1 - rr())) * Math.cos(2 * Math.PI * rr());
  for (let t = 0; t < n; t++) {
    const z = Float64Array.from({ length: k }, gr);
    for (let i = 0; i < d; i++) {
      let s = 0.3 * gr();
      for (let j = 0; j < k; j++) s += z[j]! * mix[j * d + i]!;
      x[t * d + i] = s * scale[i]!;
    }
  }
  return x;
}

function randomWeights(rows: number, cols: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: rows * cols }, () => r() * 2 - 1);
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// ---------- tests ----------

test('Hessian accumulation over uneven batches equals (2/N) Σ x xᵀ', () => {
  for (const d of [1, 7, 20]) {
    const n = 300;
    const x = correlatedInputs(n, d, d);
    const acc = new HessianAccumulator(d);
    for (const [a, b] of [[0, 1], [1, 130], [130, 131], [131, 300]] as const) acc.add(x.subarray(a * d, b * d), b - a);
    assert.equal(acc.samples, n);
    const h = acc.hessian();
    const ref = naiveHessian(x, n, d);
    const scale = Math.max(...ref.map(Math.abs));
    assert.ok(maxAbsDiff(h, ref) < 1e-12 * scale, `d=${d}`);
  }
  assert.throws(() => new HessianAccumulator(4).hessian(), /no calibration rows/);
  assert.throws(() => new HessianAccumulator(4).add(new Float32Array(7), 2), RangeError);
});

test('upper factor of the inverse equals the naive inverse-then-Cholesky route', () => {
  for (const d of [1, 2, 3, 5, 23, 24]) {
    const x = correlatedInputs(200, d, 3);
    const h = dampedNaive(naiveHessian(x, 200, d), d, 0.01);
    const u = inverseUpperFactor(h, d)!;
    const ref = naiveInverseUpperFactor(h, d);
    const scale = Math.max(...ref.map(Math.abs));
    assert.ok(maxAbsDiff(u, ref) < 1e-9 * scale, `d=${d}: max diff ${maxAbsDiff(u, ref)}`);
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(u[i * d + j], 0, 'U is upper triangular');
  }
});

test('damping: dead inputs get H_ii = 1, a non-positive-definite H is retried with ×10 damping, hopeless H throws', () => {
  const n = 3;
  const withDead = new Float64Array([2, 0, 1, 0, 0, 0, 1, 0, 3]);
  const f = dampedInverseFactor(withDead, n);
  assert.deepEqual([...f.dead], [0, 1, 0]);
  assert.equal(f.retries, 0);
  const ref = naiveInverseUpperFactor(dampedNaive(new Float64Array([2, 0, 1, 0, 1, 0, 1, 0, 3]), n, 0.01), n);
  assert.ok(maxAbsDiff(f.u, ref) < 1e-12);

  // eigenvalue −0.05: 1 % of mean(diag) = 0.0065 is not enough, 10 % is.
  const indefinite = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, -0.05]);
  const g = dampedInverseFactor(indefinite, n);
  assert.equal(g.retries, 1);
  assert.ok(Math.abs(g.percDamp - 0.1) < 1e-15);
  assert.throws(() => dampedInverseFactor(new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, -1e6]), n), NotPositiveDefiniteError);
  assert.throws(() => dampedInverseFactor(new Float64Array([1, 0, 0, NaN]), 2), NotPositiveDefiniteError);
  assert.throws(() => dampedInverseFactor(new Float64Array(3), 2), RangeError);
});

const cases: [string, SparsityPattern, number, number, number][] = [
  ['unstructured 50%, cols a multiple of the block', { kind: 'unstructured', sparsity: 0.5 }, 9, 48, 16],
  ['unstructured 30%, narrower last block', { kind: 'unstructured', sparsity: 0.3 }, 11, 70, 16],
  ['2:4', { kind: 'nm', n: 2, m: 4 }, 7, 40, 8],
  ['4:8', { kind: 'nm', n: 4, m: 8 }, 5, 56, 16],
];

for (const [name, pattern, rows, cols, B] of cases) {
  test(`blocked lazy sweep equals the unbatched naive OBS update: ${name}`, () => {
    const n = 4 * cols;
    const x = correlatedInputs(n, cols, rows + cols);
    const acc = new HessianAccumulator(cols);
    acc.add(x, n);
    const factor = dampedInverseFactor(acc.hessian(), cols);
    const w0 = randomWeights(rows, cols, cols);
    const w = Float64Array.from(w0);
    const res = sparseGptSweep(w, rows, cols, factor, pattern, B);

    const uRef = naiveInverseUpperFactor(dampedNaive(naiveHessian(x, n, cols), cols, 0.01), cols);
    const ref = naiveSparseGpt(w0, rows, cols, uRef, pattern, B);
    for (let i = 0; i < w.length; i++) assert.equal(w[i] === 0, ref.mask[i] === 1, `mask differs at ${i}`);
    assert.ok(maxAbsDiff(w, ref.w) < 1e-9, `max weight diff ${maxAbsDiff(w, ref.w)}`);
    assert.equal(res.pruned, ref.mask.reduce((a, b) => a + b, 0));

    // exact sparsity: floor(s · width · rows) per block, or n zeros in every group of m
    if (pattern.kind === 'unstructured')
      for (let i1 = 0; i1 < cols; i1 += B) {
        const width = Math.min(B, cols - i1);
        let zeros = 0;
        for (let r = 0; r < rows; r++) for (let c = i1; c < i1 + width; c++) zeros += w[r * cols + c] === 0 ? 1 : 0;
        assert.equal(zeros, Math.floor(pattern.sparsity * width * rows), `block at ${i1}`);
      }
    else
      for (let g = 0; g < w.length; g += pattern.m) assert.equal(w.subarray(g, g + pattern.m).filter((v) => v === 0).length, pattern.n, `group at ${g}`);

    // the loss estimate is SparseGPT's Σ (w/U_ii)²/2 over pruned weights; it must be positive and finite
    assert.ok(res.loss > 0 && Number.isFinite(res.loss));
  });
}

test('SparseGPT reconstructs ‖WX − ŴX‖² better than magnitude pruning on random calibration data', () => {
  const rows = 16;
  const cols = 64;
  const n = 512;
  const x = correlatedInputs(n, cols, 11);
  const acc = new HessianAccumulator(cols);
  acc.add(x, n);
  const factor = dampedInverseFactor(acc.hessian(), cols);
  const held = correlatedInputs(256, cols, 11, 12); // same mixing, fresh rows
  for (const pattern of [parseSparsityPattern(0.5), parseSparsityPattern(undefined, '2:4'), parseSparsityPattern(undefined, '4:8')]) {
    const w0 = randomWeights(rows, cols, 5);
    const sg = Float64Array.from(w0);
    sparseGptSweep(sg, rows, cols, factor, pattern, 32);
    const mag = Float64Array.from(w0);
    magnitudePrune(mag, rows, cols, pattern);
    const eSg = reconstructionError(w0, sg, rows, cols, x, n);
    const eMag = reconstructionError(w0, mag, rows, cols, x, n);
    assert.ok(eSg < 0.7 * eMag, `${JSON.stringify(pattern)}: sparsegpt ${eSg} vs magnitude ${eMag}`);
    assert.ok(reconstructionError(w0, sg, rows, cols, held, 256) < reconstructionError(w0, mag, rows, cols, held, 256));
  }
});

test('magnitude pruning zeroes exactly the smallest |w| (or n of every m)', () => {
  const w = new Float64Array([0.5, -0.1, 0.3, -0.7, 0.2, 0.05, -0.6, 0.4]);
  const u = Float64Array.from(w);
  assert.equal(magnitudePrune(u, 2, 4, { kind: 'unstructured', sparsity: 0.4 }), 3);
  assert.deepEqual([...u], [0.5, 0, 0.3, -0.7, 0, 0, -0.6, 0.4]);
  const v = Float64Array.from(w);
  assert.equal(magnitudePrune(v, 2, 4, { kind: 'nm', n: 2, m: 4 }), 4);
  assert.deepEqual([...v], [0.5, 0, 0, -0.7, 0, 0, -0.6, 0.4]);
  // ties go to the lower index
  const t = new Float64Array([1, 1, 1, 1]);
  magnitudePrune(t, 1, 4, { kind: 'unstructured', sparsity: 0.5 });
  assert.deepEqual([...t], [0, 0, 1, 1]);
});

test('bad pruning input gets clear errors', () => {
  assert.throws(() => parseSparsityPattern(undefined), /sparsity/);
  assert.throws(() => parseSparsityPattern(1.5), /\(0, 1\)/);
  assert.throws(() => parseSparsityPattern(undefined, '4:2'), /n < m/);
  assert.throws(() => parseSparsityPattern(undefined, 'two:four'), /n:m/);
  assert.throws(() => parseSparsityPattern(0.3, '2:4'), /contradicts/);
  assert.deepEqual(parseSparsityPattern(0.5, '2:4'), { kind: 'nm', n: 2, m: 4 });
  const f = dampedInverseFactor(new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3);
  assert.throws(() => sparseGptSweep(new Float64Array(6), 2, 3, f, { kind: 'nm', n: 2, m: 4 }, 4), /multiple of 4 inputs/);
  assert.throws(() => sparseGptSweep(new Float64Array(8), 2, 4, f, { kind: 'unstructured', sparsity: 0.5 }), /inverse factor is 3/);
  assert.throws(() => sparseGptSweep(new Float64Array([1, NaN, 0, 0, 0, 0]), 2, 3, f, { kind: 'unstructured', sparsity: 0.5 }), /not finite/);
  assert.throws(() => magnitudePrune(new Float64Array(6), 2, 3, { kind: 'nm', n: 1, m: 2 }), /multiple of 2/);
});

test('relative reconstruction error from H equals ‖(W − Ŵ)X‖² / ‖WX‖² computed from X', () => {
  const rows = 6;
  const cols = 20;
  const n = 90;
  const x = correlatedInputs(n, cols, 21);
  const acc = new HessianAccumulator(cols);
  acc.add(x, n);
  const w = randomWeights(rows, cols, 2);
  const wHat = Float64Array.from(w);
  magnitudePrune(wHat, rows, cols, { kind: 'unstructured', sparsity: 0.4 });
  const direct = reconstructionError(w, wHat, rows, cols, x, n) / reconstructionError(w, new Float64Array(w.length), rows, cols, x, n);
  const fromH = relativeReconstructionError(w, wHat, rows, cols, acc.hessian());
  assert.ok(Math.abs(fromH - direct) < 1e-10 * direct, `${fromH} vs ${direct}`);
});

test('dead inputs (H_ii = 0) have their weight column zeroed and the rest follows the naive oracle', () => {
  const rows = 6;
  const cols = 16;
  const n = 80;
  const x = correlatedInputs(n, cols, 8);
  for (let t = 0; t < n; t++) x[t * cols + 5] = 0;
  const acc = new HessianAccumulator(cols);
  acc.add(x, n);
  const factor = dampedInverseFactor(acc.hessian(), cols);
  assert.deepEqual([...factor.dead.keys()].filter((i) => factor.dead[i]), [5]);
  const w0 = randomWeights(rows, cols, 4);
  const w = Float64Array.from(w0);
  sparseGptSweep(w, rows, cols, factor, { kind: 'unstructured', sparsity: 0.25 }, 8);

  const h = naiveHessian(x, n, cols);
  h[5 * cols + 5] = 1;
  const u = naiveInverseUpperFactor(dampedNaive(h, cols, 0.01), cols);
  const wDead = Float64Array.from(w0);
  for (let r = 0; r < rows; r++) wDead[r * cols + 5] = 0;
  const ref = naiveSparseGpt(wDead, rows, cols, u, { kind: 'unstructured', sparsity: 0.25 }, 8);
  for (let r = 0; r < rows; r++) assert.equal(w[r * cols + 5], 0);
  assert.ok(maxAbsDiff(w, ref.w) < 1e-9);
});
