import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dequantize } from '../../src/formats/dequant.js';
import { DTYPE_LAYOUT, type DType } from '../../src/formats/tensor.js';
import { HALF_FIELDS, naiveDecode, randomBlocks } from '../helpers/naive-quants.js';

const TYPES = Object.keys(HALF_FIELDS) as DType[];

/** A block of `fill` bytes with f16 fields set to `halfBits` (one value for d, another for m/dmin). */
function edgeBlock(dtype: DType, fill: number, d: number, m: number): Uint8Array {
  const b = new Uint8Array(DTYPE_LAYOUT[dtype].blockBytes).fill(fill);
  HALF_FIELDS[dtype]!.forEach((at, i) => {
    const bits = i === 0 ? d : m;
    b[at] = bits & 255;
    b[at + 1] = bits >> 8;
  });
  return b;
}

/** f16 bits: 0, 1.0, -1.0, 65504 (largest), 2^-24 (smallest subnormal), 0.5. */
const EDGE_HALVES = [0x0000, 0x3c00, 0xbc00, 0x7bff, 0x0001, 0x3800];

function check(dtype: DType, bytes: Uint8Array, what: string): void {
  const { blockElems, blockBytes } = DTYPE_LAYOUT[dtype];
  const blocks = bytes.length / blockBytes;
  const ref = naiveDecode(dtype, bytes, blocks);
  const got = new Float32Array(blocks * blockElems + 3).fill(NaN);
  dequantize(dtype, bytes, 0, blocks * blockElems, got, 3);
  for (let i = 0; i < blocks * blockElems; i++) {
    // Float32 steps (scale·code, minus min·m): at most 3 roundings of terms no larger than `scale`.
    const tol = 4 * 2 ** -24 * ref.scale[i]! + 1e-45;
    assert.ok(Math.abs(got[3 + i]! - ref.value[i]!) <= tol, `${dtype} ${what} [${i}]: ${got[3 + i]} vs ${ref.value[i]} (tol ${tol})`);
  }
  // A slice from the second block on decodes the same values.
  if (blocks > 1) {
    const part = new Float32Array((blocks - 1) * blockElems);
    dequantize(dtype, bytes, blockElems, part.length, part);
    assert.deepEqual(part, got.subarray(3 + blockElems, 3 + blocks * blockElems));
  }
}

for (const dtype of TYPES) {
  test(`${dtype}: random blocks decode to ggml's values (float64 decoder in the test)`, () => {
    check(dtype, randomBlocks(dtype, 6, 7 + dtype.length), 'random');
  });
  test(`${dtype}: edge blocks (zero scales, all-0x00 and all-0xff codes, largest/subnormal/negative d) decode to ggml's values`, () => {
    for (const fill of [0x00, 0xff, 0x55, 0xaa])
      for (const d of EDGE_HALVES)
        for (const m of [0x0000, 0x3c00, 0x7bff]) {
          const block = edgeBlock(dtype, fill, d, m);
          check(dtype, block, `fill ${fill.toString(16)} d ${d.toString(16)} m ${m.toString(16)}`);
        }
  });
}

test('zero scales give zeros whatever the codes; all-0xff codes reach the top level of each type', () => {
  for (const dtype of TYPES) {
    const zero = new Float32Array(DTYPE_LAYOUT[dtype].blockElems);
    dequantize(dtype, edgeBlock(dtype, 0xff, 0, 0), 0, zero.length, zero);
    assert.ok(zero.every((v) => v === 0), `${dtype}: zero scales`);
  }
  // With d = 1 and the min at 0, all-ones codes give the type's largest code times its largest scale.
  const top = (dtype: DType) => {
    const out = new Float32Array(DTYPE_LAYOUT[dtype].blockElems);
    dequantize(dtype, edgeBlock(dtype, 0xff, 0x3c00, 0), 0, out.length, out);
    return [Math.min(...out), Math.max(...out)];
  };
  assert.deepEqual(top('q4_0'), [7, 7]);
  assert.deepEqual(top('q4_1'), [15, 15]);
  assert.deepEqual(top('q5_0'), [15, 15]);
  assert.deepEqual(top('q5_1'), [31, 31]);
  assert.deepEqual(top('iq4_nl'), [113, 113]);
  assert.deepEqual(top('q8_0'), [-1, -1]);
  assert.deepEqual(top('q4_k'), [63 * 15, 63 * 15]);
  assert.deepEqual(top('q5_k'), [63 * 31, 63 * 31]);
  assert.deepEqual(top('q2_k'), [15 * 3, 15 * 3]);
  assert.deepEqual(top('q3_k'), [31 * 3, 31 * 3]); // scale 63 − 32, high bit set: code 3
  assert.deepEqual(top('q6_k'), [-31, -31]); // scale int8 −1, code 63 − 32
});
