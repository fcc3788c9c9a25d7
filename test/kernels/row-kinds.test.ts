import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeSparse } from '../../src/formats/sparse-matrix.js';
import type { DType } from '../../src/formats/tensor.js';
import { encodeTensor } from '../../src/formats/writers/encode-tensor.js';
import type { Matrix } from '../../src/kernels/matrix.js';
import { rowKindAt, rowKindsOf } from '../../src/kernels/row-kinds.js';
import type { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { randomMatrix } from '../helpers/matmul-reference.js';
import { oneAndTwoThreads, randoms, sameBits } from '../helpers/wasm-kernels.js';

const wasm = oneAndTwoThreads();

test('row kinds of a forward of n tokens: tiles of 4 first, the rest streamed, a lone token on the single path', () => {
  assert.deepEqual(rowKindsOf(1), { tile: 0, stream: 0, single: 1 });
  assert.deepEqual(rowKindsOf(3), { tile: 0, stream: 3, single: 0 });
  assert.deepEqual(rowKindsOf(10), { tile: 8, stream: 2, single: 0 });
  assert.deepEqual(Array.from({ length: 10 }, (_, i) => rowKindAt(i, 10)), [...Array(8).fill('tile'), 'stream', 'stream']);
  assert.equal(rowKindAt(0, 1), 'single');
});

/** Each kind of row in one product gives the bits of the forward its rows come from: 8 tile rows, 3 streamed (a forward of 3), 2 single tokens. */
function checkMixed(be: WasmBackend, w: Matrix, seed: number, what: string): void {
  const { rows, cols } = w;
  const r = randoms(seed);
  const x = Float32Array.from({ length: 13 * cols }, () => r());
  const mixed = new Float32Array(13 * rows);
  be.matmulShared([mixed], x, { tile: 8, stream: 3, single: 2 }, [w]);
  const own = (from: number, n: number) => {
    const out = new Float32Array(n * rows);
    be.matmul(out, x.subarray(from * cols, (from + n) * cols), n, w);
    return out;
  };
  assert.ok(sameBits(mixed.subarray(0, 8 * rows), own(0, 8)), `${what}: tile rows`);
  assert.ok(sameBits(mixed.subarray(8 * rows, 11 * rows), own(8, 3)), `${what}: stream rows`);
  assert.ok(sameBits(mixed.subarray(11 * rows, 12 * rows), own(11, 1)), `${what}: first single row`);
  assert.ok(sameBits(mixed.subarray(12 * rows), own(12, 1)), `${what}: second single row`);
}

const shapes: [DType, number, number][] = [
  ['f32', 37, 84], ['f16', 37, 84], ['bf16', 21, 68], ['q8_0', 37, 96], ['q4_0', 37, 96], ['q4_1', 19, 96], ['q5_0', 19, 96], ['q5_1', 19, 96],
  ['iq4_nl', 19, 96], ['q2_k', 13, 256], ['q3_k', 13, 256], ['q4_k', 13, 256], ['q5_k', 13, 256], ['q6_k', 13, 256],
];
let seed = 500;
for (const [dtype, rows, cols] of shapes)
  test(`one product over tile, stream and single rows gives each row the bits of its own forward: ${dtype} ${rows}×${cols}, 1 and 2 threads`, () => {
    const w = randomMatrix(dtype, rows, cols, seed++);
    checkMixed(wasm.one, w, seed, `${dtype}, 1 thread`);
    checkMixed(wasm.two, w, seed++, `${dtype}, 2 threads`);
  });

for (const dtype of ['f32', 'q8_0'] as DType[])
  test(`the same for a 2:4 sparse ${dtype} matrix`, () => {
    const r = randoms(seed++);
    const rows = 21;
    const cols = 96;
    const values = Float32Array.from({ length: rows * cols }, (_, i) => (i % 4 < 2 ? r() : 0));
    const layout = { kind: 'nm', n: 2, m: 4 } as const;
    const dense = encodeTensor(dtype, values);
    const w: Matrix = { rows, cols, dtype, data: encodeSparse(dtype, dense, rows, cols, layout), sparse: layout };
    checkMixed(wasm.two, w, seed++, `sparse ${dtype}`);
  });

test('a row split whose tile rows do not come in fours is refused', () => {
  const w = randomMatrix('f32', 4, 8, 1);
  assert.throws(() => wasm.one.matmulShared([new Float32Array(40)], new Float32Array(80), { tile: 3, stream: 0, single: 0 }, [w]), /tile rows come in fours/);
});
