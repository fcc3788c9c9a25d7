import assert from 'node:assert/strict';
import { DTYPE_LAYOUT, type DType } from '../../src/formats/tensor.js';
import { ENCODABLE_DTYPES, encodeTensor } from '../../src/formats/writers/encode-tensor.js';
import { randomBlocks } from './naive-quants.js';
import { dequantize } from '../../src/formats/dequant.js';
import type { Matrix } from '../../src/kernels/matrix.js';
import { randoms } from './wasm-kernels.js';

/** A rows × cols matrix of uniform [-1, 1) values stored as `dtype` (random blocks for a dtype without an encoder). */
export function randomMatrix(dtype: DType, rows: number, cols: number, seed: number): Matrix {
  if (!ENCODABLE_DTYPES.includes(dtype)) return { rows, cols, dtype, data: randomBlocks(dtype, (rows * cols) / DTYPE_LAYOUT[dtype].blockElems, seed) };
  const r = randoms(seed);
  const w = Float32Array.from({ length: rows * cols }, () => r());
  return { rows, cols, dtype, data: encodeTensor(dtype, w) };
}

/** Row r of w decoded to float64 by the format's reference decoder. */
export function row(w: Matrix, r: number): Float64Array {
  const f = new Float32Array(w.cols);
  dequantize(w.dtype, w.data, r * w.cols, w.cols, f);
  return Float64Array.from(f);
}

/** Float64 product and, per output, Σ|x·w| (the scale rounding errors are relative to). */
export function reference(x: ArrayLike<number>, n: number, w: Matrix): { ref: Float64Array; mag: Float64Array } {
  const ref = new Float64Array(n * w.rows);
  const mag = new Float64Array(n * w.rows);
  for (let r = 0; r < w.rows; r++) {
    const wr = row(w, r);
    for (let t = 0; t < n; t++) {
      let s = 0;
      let m = 0;
      for (let c = 0; c < w.cols; c++) {
        s += x[t * w.cols + c]! * wr[c]!;
        m += Math.abs(x[t * w.cols + c]! * wr[c]!);
      }
      ref[t * w.rows + r] = s;
      mag[t * w.rows + r] = m;
    }
  }
  return { ref, mag };
}

export function assertClose(got: Float32Array, ref: Float64Array, mag: Float64Array, tol: number, what: string): void {
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    assert.ok(err <= tol * mag[i]! + 1e-30, `${what}: out[${i}] = ${got[i]} vs ${ref[i]} (err ${err}, Σ|xw| ${mag[i]})`);
  }
}

