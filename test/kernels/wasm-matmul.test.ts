import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import type { DType } from '../../src/formats/tensor.js';
import { encodeTensor } from '../../src/formats/writers/encode-tensor.js';
import { TsBackend } from '../../src/kernels/ts-backend.js';
import type { Matrix } from '../../src/kernels/matrix.js';
import { assertClose, randomMatrix, reference, row } from '../helpers/matmul-reference.js';
import { oneAndTwoThreads, randoms, sameBits } from '../helpers/wasm-kernels.js';

const wasm = oneAndTwoThreads();

/** The activation quantization the int8 decode path (q8_0, q4_0, q5_0, q4_K, q6_K) uses, in float32 steps: d = max|x|/127, q = nearest-even(x · (1/d)). */
function quantizeActivations(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  const f = Math.fround;
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    for (let i = 0; i < 32; i++) {
      const v = f(x[b * 32 + i]! * id);
      let q = Math.round(v);
      if (q - v === 0.5 && q % 2 !== 0) q -= 1; // ties to even, as wasm's nearest
      out[b * 32 + i] = q * d;
    }
  }
  return out;
}

const shapes: Record<DType, [number, number][]> = {
  f32: [[37, 83], [45, 301], [5, 7]],
  f16: [[37, 83], [45, 301], [5, 7]],
  bf16: [[37, 83], [9, 130]],
  q8_0: [[37, 96], [45, 160]],
  q4_0: [[37, 96], [45, 160]],
  q4_1: [[37, 96], [9, 160]],
  q5_0: [[37, 96], [9, 160]],
  q5_1: [[37, 96], [9, 160]],
  iq4_nl: [[37, 96], [9, 160]],
  q2_k: [[13, 256], [9, 512]],
  q3_k: [[13, 256], [9, 512]],
  q4_k: [[37, 256], [9, 768]],
  q5_k: [[13, 256], [9, 512]],
  q6_k: [[37, 256], [9, 768]],
};

let seed = 100;
for (const dtype of Object.keys(shapes) as DType[])
  for (const [rows, cols] of shapes[dtype])
    for (const n of [1, 3, 7]) {
      test(`matmul ${dtype} ${rows}×${cols}, n = ${n}: matches float64 reference; 1 and 2 threads give identical bits`, () => {
        const w = randomMatrix(dtype, rows, cols, seed++);
        const rx = randoms(seed++);
        const x = Float32Array.from({ length: n * cols }, () => rx());
        const a = new Float32Array(n * rows);
        const b = new Float32Array(n * rows);
        wasm.one.matmul(a, x, n, wasm.one.prepare(w));
        wasm.two.matmul(b, x, n, wasm.two.prepare(w));
        assert.ok(sameBits(a, b), 'threads 1 vs 2 differ');
        const quantizedDecode = n === 1 && ['q8_0', 'q4_0', 'q5_0', 'q4_k', 'q6_k'].includes(dtype);
        if (!quantizedDecode) {
          const { ref, mag } = reference(x, n, w);
          assertClose(a, ref, mag, 1e-5, 'vs float64');
          return;
        }
        // Oracle: the dequantised weights against x quantised the same way.
        const xq = quantizeActivations(x);
        const { ref, mag } = reference(xq, n, w);
        assertClose(a, ref, mag, 1e-5, 'vs quantized-activation reference');
        // And the documented distance from the exact product: each activation moves by at most d/2 = max|x_block|/254.
        const exact = reference(x, n, w).ref;
        for (let r = 0; r < rows; r++) {
          const wr = row(w, r);
          let bound = 0;
          for (let blk = 0; blk < cols / 32; blk++) {
            let amax = 0;
            let wsum = 0;
            for (let i = 0; i < 32; i++) {
              amax = Math.max(amax, Math.abs(x[blk * 32 + i]!));
              wsum += Math.abs(wr[blk * 32 + i]!);
            }
            bound += (amax / 254) * wsum;
          }
          assert.ok(Math.abs(a[r]! - exact[r]!) <= bound * 1.0001 + 1e-5 * mag[r]!, `row ${r}: ${a[r]} vs exact ${exact[r]}, bound ${bound}`);
        }
      });
    }

test('matmul: f16 specials (subnormal, ±inf, NaN) decode like the reference table', () => {
  const bits = new Uint16Array([0x0001, 0x03ff, 0x8001, 0x7c00, 0xfc00, 0x7e00, 0x3c00, 0xc000]);
  const w: Matrix = { rows: bits.length, cols: 1, dtype: 'f16', data: new Uint8Array(bits.buffer) };
  for (const n of [1, 2]) {
    const out = new Float32Array(n * bits.length);
    const x = new Float32Array(n).fill(1);
    wasm.one.matmul(out, x, n, w);
    const ref = new Float32Array(n * bits.length);
    new TsBackend().matmul(ref, x, n, w);
    for (let i = 0; i < ref.length; i++) assert.ok(Object.is(out[i], ref[i]) || (Number.isNaN(out[i]) && Number.isNaN(ref[i])), `n=${n} [${i}] ${out[i]} vs ${ref[i]}`);
  }
});

test('matmul: a prepared matrix lives in wasm memory; an unprepared one is adopted once', () => {
  const w = randomMatrix('f32', 8, 16, 1);
  const p = wasm.one.prepare(w);
  assert.notEqual(p.data.buffer, w.data.buffer);
  assert.equal(wasm.one.prepare(p), p);
  assert.equal(wasm.one.prepare(w), p);
  const before = wasm.one.memoryBytes;
  const out = new Float32Array(8);
  wasm.one.matmul(out, new Float32Array(16).fill(1), 1, w);
  assert.equal(wasm.one.memoryBytes, before);
});

test('bad input: typed errors, no crash', async () => {
  const w = randomMatrix('f32', 4, 8, 2);
  assert.throws(() => wasm.one.matmul(new Float32Array(4), new Float32Array(7), 1, w), RangeError);
  assert.throws(() => wasm.one.matmul(new Float32Array(3), new Float32Array(8), 1, w), RangeError);
  assert.throws(() => wasm.one.matmul(new Float32Array(8), new Float32Array(16), 0, w), RangeError);
  assert.throws(() => wasm.one.prepare({ rows: 4, cols: 8, dtype: 'f32', data: new Uint8Array(100) }), RangeError);
  assert.throws(() => wasm.one.prepare({ rows: 2, cols: 48, dtype: 'q8_0', data: new Uint8Array(102) }), RangeError);
  await assert.rejects(createWasmBackend({ threads: 0 }), RangeError);
  await assert.rejects(createWasmBackend({ threads: 1.5 }), RangeError);
});

test('swiglu: wasm matches float64 silu(g)·u (1 and 2 threads, identical bits), including large |g|', () => {
  const len = 1001;
  const r = randoms(77);
  const gate = Float32Array.from({ length: len }, (_, i) => (i % 100 === 0 ? (i % 200 === 0 ? 90 : -90) : r() * 8));
  const up = Float32Array.from({ length: len }, () => r() * 3);
  const a = gate.slice();
  const b = gate.slice();
  wasm.one.swiglu(a, up, len);
  wasm.two.swiglu(b, up, len);
  assert.ok(sameBits(a, b));
  for (let i = 0; i < len; i++) {
    const g = gate[i]!;
    const ref = (g / (1 + Math.exp(-g))) * up[i]!;
    assert.ok(Math.abs(a[i]! - ref) <= 1e-6 * Math.abs(ref) + 1e-7, `[${i}] silu(${g})·${up[i]} = ${a[i]} vs ${ref}`);
  }
  assert.throws(() => wasm.one.swiglu(a, up, len + 1), RangeError);
});

test('worker threads do not keep the process alive when dispose() is forgotten', () => {
  const backend = fileURLToPath(new URL('../../src/kernels/wasm-backend.ts', import.meta.url));
  const code = `const { createWasmBackend } = await import(${JSON.stringify(backend)}); const b = await createWasmBackend({ threads: 2 }); b.matmul(new Float32Array(1), new Float32Array(4).fill(1), 1, { rows: 1, cols: 4, dtype: 'f32', data: new Uint8Array(16) }); console.log('done');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(r.signal, null, 'the process hung and was killed');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done/);
});

test('dtype conversion at load: a backend asked for q8_0 stores f32 weights as the reference Q8_0 encoding', async () => {
  const conv = await createWasmBackend({ threads: 1, dtype: 'q8_0' });
  try {
    const r = randoms(5);
    const f = Float32Array.from({ length: 6 * 64 }, () => r());
    const p = conv.prepare({ rows: 6, cols: 64, dtype: 'f32', data: new Uint8Array(f.buffer) });
    assert.equal(p.dtype, 'q8_0');
    assert.deepEqual(Array.from(p.data), Array.from(encodeTensor('q8_0', f)));
    // rows that are not whole blocks stay as stored
    assert.equal(conv.prepare({ rows: 2, cols: 40, dtype: 'f32', data: new Uint8Array(320) }).dtype, 'f32');
  } finally {
    conv.dispose();
  }
});

test('matmulShared: q/k/v-like products of one x in one job equal separate products (1 and 2 threads, identical bits); mixed dtypes fall back', () => {
  for (const [dtype, n] of [['f32', 1], ['q8_0', 1], ['f16', 5], ['q4_0', 9]] as const) {
    const ws = [randomMatrix(dtype, 37, 96, seed++), randomMatrix(dtype, 13, 96, seed++), randomMatrix(dtype, 13, 96, seed++)];
    const r = randoms(seed++);
    const x = Float32Array.from({ length: n * 96 }, () => r());
    const shared = ws.map((w) => new Float32Array(n * w.rows));
    const two = ws.map((w) => new Float32Array(n * w.rows));
    wasm.one.matmulShared(shared, x, n, ws);
    wasm.two.matmulShared(two, x, n, ws);
    ws.forEach((w, i) => {
      const alone = new Float32Array(n * w.rows);
      wasm.one.matmul(alone, x, n, w);
      assert.ok(sameBits(shared[i]!, alone), `${dtype} n=${n} matrix ${i}: shared vs alone`);
      assert.ok(sameBits(two[i]!, alone), `${dtype} n=${n} matrix ${i}: 2 threads`);
    });
  }
  const mixed = [randomMatrix('f32', 8, 64, 1), randomMatrix('q8_0', 8, 64, 2)];
  const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const outs = mixed.map(() => new Float32Array(8));
  wasm.two.matmulShared(outs, x, 1, mixed);
  mixed.forEach((w, i) => {
    const alone = new Float32Array(8);
    wasm.two.matmul(alone, x, 1, w);
    assert.ok(sameBits(outs[i]!, alone));
  });
  assert.throws(() => wasm.one.matmulShared([new Float32Array(8)], x, 1, mixed), RangeError);
});
