import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InverseFactor } from '../../src/prune/cholesky.js';
import { gridOf, packQuantized, roundToGrid, type PruneQuant } from '../../src/prune/quant-grid.js';
import { sparseGptQuantizedSweep, sparseGptSweep } from '../../src/prune/sparsegpt.js';
import type { SparsityPattern } from '../../src/prune/sparsity-pattern.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { dampedNaive, naiveHessian, naiveInverseUpperFactor, naiveSparseGpt, reconstructionError } from '../helpers/naive-sparsegpt.js';
import { half, naiveDecode } from '../helpers/naive-quants.js';

// Naive float64 joint SparseGPT + quantisation, written from methods.md §14 and the paper (each kept
// weight rounded as it is fixed, w − q compensated), with no lazy batching: every column's update goes
// to all later columns at once. The grid: ggml's scales for the weights prune-only SparseGPT ends at.

/** float32 → the nearest float16 value (ties to the even code), by bisection over the positive codes. */
function nearestHalf(x: number): number {
  const a = Math.abs(Math.fround(x));
  let lo = 0;
  let hi = 0x7bff; // largest finite code
  if (a > half(hi)) return Math.sign(x) * (a >= 65520 ? Infinity : half(hi));
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (half(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - half(lo);
  const dHi = half(hi) - a;
  const code = dLo < dHi || (dLo === dHi && lo % 2 === 0) ? lo : hi;
  return x < 0 ? -half(code) : half(code);
}

/** ggml's scale rule for one block of 32 values: q8_0 amax/127, q4_0 (largest-magnitude value, first on ties)/−8, in float32, stored float16. */
function naiveScale(quant: PruneQuant, block: number[]): number {
  let best = 0;
  for (const v of block) if (Math.abs(v) > Math.abs(best)) best = v;
  return nearestHalf(Math.fround(quant === 'q8_0' ? Math.abs(best) / 127 : best / -8));
}

/** The grid value nearest x: q8_0 d·round(x/d) (halves away from 0) clamped to ±127; q4_0 d·(⌊x/d + 8.5⌋ − 8) with the code in 0…15. */
function naiveRound(quant: PruneQuant, x: number, d: number): number {
  if (d === 0) return 0;
  if (quant === 'q8_0') {
    const t = x / d;
    const c = t < 0 ? -Math.floor(-t + 0.5) : Math.floor(t + 0.5);
    return d * Math.min(127, Math.max(-127, c));
  }
  return d * (Math.min(15, Math.max(0, Math.floor(x / d + 8.5))) - 8);
}

function naiveJoint(w0: Float64Array, rows: number, cols: number, u: Float64Array, p: SparsityPattern, B: number, quant: PruneQuant): Float64Array {
  // Block scales from the prune-only sweep, then the same sweep rounding each kept weight as it is fixed.
  const target = naiveSparseGpt(w0, rows, cols, u, p, B).w;
  const scale = Array.from({ length: (rows * cols) / 32 }, (_, b) => naiveScale(quant, [...target.subarray(32 * b, 32 * b + 32)]));
  return naiveSparseGpt(w0, rows, cols, u, p, B, (r, i, x) => naiveRound(quant, x, scale[r * (cols / 32) + Math.floor(i / 32)]!)).w;
}

/** n × d inputs with correlated columns (random mixing of fewer latent factors plus noise). */
function correlatedInputs(n: number, d: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const k = Math.floor(d / 3);
  const mix = Float64Array.from({ length: k * d }, g);
  const x = new Float32Array(n * d);
  for (let t = 0; t < n; t++) {
    const z = Float64Array.from({ length: k }, g);
    for (let i = 0; i < d; i++) {
      let s = 0.3 * g();
      for (let j = 0; j < k; j++) s += z[j]! * mix[j * d + i]!;
      x[t * d + i] = s;
    }
  }
  return x;
}

const ROWS = 20;
const COLS = 96;
const N = 300;
function setup(seed: number) {
  const x = correlatedInputs(N, COLS, seed);
  const h = naiveHessian(x, N, COLS);
  const u = naiveInverseUpperFactor(dampedNaive(h, COLS, 0.01), COLS);
  const factor: InverseFactor = { n: COLS, u, dead: new Uint8Array(COLS), percDamp: 0.01, retries: 0 };
  const r = mulberry32(seed + 1);
  const w0 = Float64Array.from({ length: ROWS * COLS }, () => (r() * 2 - 1) * 0.5);
  return { x, factor, w0 };
}

const patterns: [string, SparsityPattern][] = [
  ['50%', { kind: 'unstructured', sparsity: 0.5 }],
  ['2:4', { kind: 'nm', n: 2, m: 4 }],
  ['4:8', { kind: 'nm', n: 4, m: 8 }],
];

for (const quant of ['q8_0', 'q4_0'] as const)
  for (const [label, pattern] of patterns)
    test(`SparseGPT ${label} + ${quant}: the blocked sweep gives the naive float64 joint update's weights exactly, and its packed bytes decode to them`, () => {
      const { factor, w0 } = setup(label.length * 31 + quant.length);
      const want = naiveJoint(w0, ROWS, COLS, factor.u, pattern, 64, quant);
      const w = Float64Array.from(w0);
      const grid = sparseGptQuantizedSweep(w, ROWS, COLS, factor, pattern, 64, quant);
      let maxDiff = 0;
      for (let i = 0; i < w.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w[i]! - want[i]!));
      assert.equal(maxDiff, 0, `largest difference ${maxDiff}`);
      const zeros = want.filter((v) => v === 0).length;
      assert.ok(zeros >= ROWS * COLS * 0.5, `${zeros} zeros`);
      const decoded = naiveDecode(quant, packQuantized(w, grid), (ROWS * COLS) / 32).value;
      assert.ok(decoded.every((v, i) => v === want[i]), 'the packed bytes decode to the weights');
    });

// q8_0's rounding is small beside the pruning error (the two orders then differ by the noise of the
// mask's path), and an n:m mask's path on 20 rows is noisy too; q4_0's rounding at 50 % is not small,
// and there compensating it must pay.
for (const [label, pattern] of patterns.slice(0, 1))
  test(`SparseGPT ${label} + q4_0: compensating the rounding reconstructs the layer better than pruning and then rounding to nearest`, () => {
    const { x, factor, w0 } = setup(77);
    const joint = Float64Array.from(w0);
    sparseGptQuantizedSweep(joint, ROWS, COLS, factor, pattern, 64, 'q4_0');
    const after = Float64Array.from(w0);
    sparseGptSweep(after, ROWS, COLS, factor, pattern, 64);
    roundToGrid(after, gridOf('q4_0', after));
    const eJoint = reconstructionError(w0, joint, ROWS, COLS, x, N);
    const eAfter = reconstructionError(w0, after, ROWS, COLS, x, N);
    assert.ok(eJoint < 0.97 * eAfter, `joint ${eJoint}, prune then round ${eAfter}`);
  });

test('the joint sweep rejects a grid that does not fit the matrix', () => {
  const { factor, w0 } = setup(3);
  assert.throws(() => sparseGptSweep(Float64Array.from(w0), ROWS, COLS, factor, patterns[1]![1], 64, { quant: 'q8_0', scales: new Float64Array(ROWS * 2) }), /one scale for each/);
  const narrow = setup(3);
  assert.throws(() => sparseGptQuantizedSweep(new Float64Array(ROWS * 40), ROWS, 40, { ...narrow.factor, n: 40, u: new Float64Array(1600) }, patterns[1]![1], 64, 'q4_0'), /whole 32-column blocks/);
});
