import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DType } from '../../src/formats/tensor.js';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm-backend.js';
import { assertClose, randomMatrix, reference } from '../helpers/matmul-reference.js';
import { ensureKernelsBuilt, randoms, sameBits } from '../helpers/wasm-kernels.js';

// onnxruntime-node is an optional dependency that `npm ci` installs on this platform: these tests
// require it, so a broken install fails here instead of silently falling back to the WebAssembly GEMM.
// Unlike the WebAssembly kernels, onnxruntime may pick another blocking for another thread count,
// so 1 and 2 threads agree to float32 rounding, not bit for bit; a given thread count repeats exactly.
const b = {} as { one: WasmBackend; two: WasmBackend };
before(async () => {
  ensureKernelsBuilt();
  b.one = await createWasmBackend({ threads: 1, nativeGemm: true });
  b.two = await createWasmBackend({ threads: 2, nativeGemm: true });
});
after(() => {
  b.one.dispose();
  b.two.dispose();
});

test('the native GEMM is installed and in use when asked for', () => {
  assert.ok(b.one.usesNativeGemm && b.two.usesNativeGemm, 'onnxruntime-node did not load');
});

let seed = 900;
for (const dtype of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as DType[])
  for (const [rows, cols, n] of [[37, 96, 32], [70, 160, 45]] as const)
    test(`native GEMM, ${dtype} ${rows}×${cols}, n = ${n}: 1 and 2 threads match the float64 reference; a rerun repeats the bits`, () => {
      const w = randomMatrix(dtype, rows, cols, seed++);
      const r = randoms(seed++);
      const x = Float32Array.from({ length: n * cols }, () => r());
      const one = new Float32Array(n * rows + 3).fill(7);
      const two = new Float32Array(n * rows);
      b.one.matmul(one, x, n, w);
      b.two.matmul(two, x, n, w);
      const { ref, mag } = reference(x, n, w);
      assertClose(one, ref, mag, 1e-5, '1 thread vs float64');
      assertClose(two, ref, mag, 1e-5, '2 threads vs float64');
      assert.deepEqual([...one.subarray(n * rows)], [7, 7, 7], 'nothing written past n × rows');
      const again = new Float32Array(n * rows);
      b.two.matmul(again, x, n, w);
      assert.ok(sameBits(again, two), 'a rerun differs');
    });

test('native GEMM with x and out in wasm memory (the native side reads only the JS heap)', () => {
  const [rows, cols, n] = [33, 64, 40];
  const w = randomMatrix('f32', rows, cols, 5);
  const r = randoms(6);
  const x = b.two.cacheStorage.floats(n * cols);
  x.set(Float32Array.from({ length: n * cols }, () => r()));
  const out = b.two.cacheStorage.floats(n * rows);
  b.two.matmul(out, x, n, w);
  const { ref, mag } = reference(x, n, w);
  assertClose(out, ref, mag, 1e-5, 'vs float64');
});
