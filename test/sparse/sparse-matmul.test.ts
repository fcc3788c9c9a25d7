import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSparse, encodeSparse, type SparseLayout } from '../../src/formats/sparse-matrix.js';
import type { DType } from '../../src/formats/tensor.js';
import { encodeTensor } from '../../src/formats/writers/encode-tensor.js';
import type { Matrix } from '../../src/kernels/matrix.js';
import { TsBackend } from '../../src/kernels/ts-backend.js';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import { oneAndTwoThreads, randoms, sameBits } from '../helpers/wasm-kernels.js';

const wasm = oneAndTwoThreads();

/** A rows × cols matrix of uniform values with the pattern's zeros: n of every m (smallest |w|), or each weight zero with probability `sparsity`. */
function prunedValues(rows: number, cols: number, layout: SparseLayout, sparsity: number, seed: number): Float32Array {
  const r = randoms(seed);
  const w = Float32Array.from({ length: rows * cols }, () => r());
  if (layout.kind === 'unstructured') return w.map((v) => (Math.abs(r()) < sparsity ? 0 : v));
  for (let g = 0; g < w.length; g += layout.m) {
    const order = Array.from({ length: layout.m }, (_, i) => g + i).sort((a, b) => Math.abs(w[a]!) - Math.abs(w[b]!));
    for (let i = 0; i < layout.n; i++) w[order[i]!] = 0;
  }
  return w;
}

interface Case {
  dtype: DType;
  rows: number;
  cols: number;
  layout: SparseLayout;
  sparsity: number;
}
const nm24: SparseLayout = { kind: 'nm', n: 2, m: 4 };
const nm48: SparseLayout = { kind: 'nm', n: 4, m: 8 };
const free: SparseLayout = { kind: 'unstructured' };
const cases: Case[] = [];
for (const dtype of ['f32', 'f16', 'bf16'] as DType[])
  cases.push(
    { dtype, rows: 37, cols: 84, layout: nm24, sparsity: 0.5 },
    { dtype, rows: 21, cols: 88, layout: nm48, sparsity: 0.5 },
    { dtype, rows: 45, cols: 83, layout: free, sparsity: 0.5 },
    { dtype, rows: 9, cols: 172, layout: free, sparsity: 0.6 },
    { dtype, rows: 6, cols: 7, layout: free, sparsity: 0.3 },
  );
for (const dtype of ['q8_0', 'q4_0'] as DType[])
  cases.push(
    { dtype, rows: 37, cols: 96, layout: nm24, sparsity: 0.5 },
    { dtype, rows: 19, cols: 64, layout: nm48, sparsity: 0.5 },
    { dtype, rows: 45, cols: 160, layout: free, sparsity: 0.55 },
    { dtype, rows: 8, cols: 32, layout: free, sparsity: 0.97 },
  );

let seed = 7;
for (const c of cases) {
  const dense: Matrix = { rows: c.rows, cols: c.cols, dtype: c.dtype, data: encodeTensor(c.dtype, prunedValues(c.rows, c.cols, c.layout, c.sparsity, seed++)) };
  const sparse: Matrix = { ...dense, data: encodeSparse(c.dtype, dense.data, c.rows, c.cols, c.layout), sparse: c.layout };
  const label = `${c.dtype} ${c.rows}×${c.cols} ${c.layout.kind === 'nm' ? `${c.layout.n}:${c.layout.m}` : `${c.sparsity * 100}%`}`;

  test(`sparse ${label}: the blob decodes to the dense bytes exactly, and is smaller`, () => {
    assert.deepEqual(decodeSparse(c.dtype, sparse.data, c.rows, c.cols), dense.data);
    assert.ok(sparse.data.byteLength < dense.data.byteLength || c.cols < 16, `${sparse.data.byteLength} ≥ ${dense.data.byteLength}`);
  });

  test(`sparse ${label}: TypeScript and WebAssembly (1 and 2 threads) products equal the dense-with-zeros products bit for bit, n = 1, 3, 7, 40`, () => {
    const ts = new TsBackend();
    for (const n of [1, 3, 7, 40]) {
      const rx = randoms(seed + n);
      const x = Float32Array.from({ length: n * c.cols }, () => rx());
      const run = (b: { matmul(o: Float32Array, x: Float32Array, n: number, w: Matrix): void; prepare(m: Matrix): Matrix }, w: Matrix) => {
        const out = new Float32Array(n * c.rows);
        b.matmul(out, x, n, b.prepare(w));
        return out;
      };
      assert.ok(sameBits(run(ts, sparse), run(ts, dense)), `ts, n = ${n}`);
      const want = run(wasm.one, dense);
      assert.ok(sameBits(run(wasm.one, sparse), want), `wasm 1 thread, n = ${n}`);
      assert.ok(sameBits(run(wasm.two, sparse), want), `wasm 2 threads, n = ${n}`);
    }
  });
}

test('sparse matrices sharing x with dense ones (q/k/v stored differently) give each its own dense-identical product', () => {
  const c = { rows: 24, cols: 64 };
  const a: Matrix = { ...c, dtype: 'f32', data: encodeTensor('f32', prunedValues(c.rows, c.cols, nm24, 0.5, 91)) };
  const b: Matrix = { ...c, dtype: 'f32', data: encodeTensor('f32', prunedValues(c.rows, c.cols, free, 0.5, 92)) };
  const sa: Matrix = { ...a, data: encodeSparse('f32', a.data, c.rows, c.cols, nm24), sparse: nm24 };
  const x = Float32Array.from({ length: 2 * c.cols }, randoms(93));
  for (const be of [wasm.one, wasm.two]) {
    const [o1, o2, d1, d2] = Array.from({ length: 4 }, () => new Float32Array(2 * c.rows));
    be.matmulShared([o1!, o2!], x, 2, [be.prepare(sa), be.prepare(b)]);
    be.matmulShared([d1!, d2!], x, 2, [be.prepare(a), be.prepare(b)]);
    assert.ok(sameBits(o1!, d1!) && sameBits(o2!, d2!));
  }
});

test('a sparse matrix converted at load (--dtype q8_0) stays sparse and computes what the converted dense matrix does', async () => {
  const be = await createWasmBackend({ threads: 1, dtype: 'q8_0', nativeGemm: false });
  try {
    const rows = 16;
    const cols = 64;
    const dense: Matrix = { rows, cols, dtype: 'f32', data: encodeTensor('f32', prunedValues(rows, cols, nm24, 0.5, 95)) };
    const sparse = be.prepare({ ...dense, data: encodeSparse('f32', dense.data, rows, cols, nm24), sparse: nm24 });
    assert.equal(sparse.dtype, 'q8_0');
    assert.deepEqual(sparse.sparse, nm24);
    const x = Float32Array.from({ length: cols }, randoms(96));
    const [a, b] = [new Float32Array(rows), new Float32Array(rows)];
    be.matmul(a, x, 1, sparse);
    be.matmul(b, x, 1, be.prepare(dense));
    assert.ok(sameBits(a, b));
  } finally {
    be.dispose();
  }
});
