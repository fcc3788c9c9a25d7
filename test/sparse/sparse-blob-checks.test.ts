import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { checkSparse, encodeSparse, type SparseLayout } from '../../src/formats/sparse-matrix.js';
import { sparseTensors } from '../../src/formats/sparse-tensors.js';
import { encodeTensor } from '../../src/formats/writers/encode-tensor.js';

const rows = 4;
const cols = 32;
const nm24: SparseLayout = { kind: 'nm', n: 2, m: 4 };
// Columns 1 and 2 of every group of 4 kept: a valid 2:4 matrix.
const values = Float32Array.from({ length: rows * cols }, (_, i) => (i % 4 === 1 || i % 4 === 2 ? i + 1 : 0));
const blob = encodeSparse('f32', encodeTensor('f32', values), rows, cols, nm24);
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const masksAt = 4 * (rows + 1);
const check = (b: Uint8Array, layout: SparseLayout = nm24) => () => checkSparse('f', 'w', 'f32', rows, cols, layout, b);

test('a well-formed sparse blob passes the checks', () => {
  assert.doesNotThrow(check(blob));
});

test('a mask bit past the last column is a FormatError', () => {
  // 20 columns: the second mask word may only use its low 4 bits.
  const narrow = encodeSparse('f32', encodeTensor('f32', new Float32Array(rows * 20).fill(1)), rows, 20, { kind: 'unstructured' });
  const bad = narrow.slice();
  dv(bad).setUint16(masksAt + 2, 0x0010 | dv(bad).getUint16(masksAt + 2, true), true);
  assert.throws(() => checkSparse('f', 'w', 'f32', rows, 20, { kind: 'unstructured' }, bad), FormatError);
});

test('row offsets that disagree with the masks, or counts past the end of the blob, are FormatErrors', () => {
  const shifted = blob.slice();
  dv(shifted).setUint32(4 * rows, dv(shifted).getUint32(4 * rows, true) + 1000, true);
  assert.throws(check(shifted), FormatError);
  const nonzeroStart = blob.slice();
  dv(nonzeroStart).setUint32(0, 1, true);
  assert.throws(check(nonzeroStart), FormatError);
  assert.throws(check(blob.subarray(0, blob.byteLength - 8)), FormatError);
  assert.throws(check(blob.subarray(0, 8)), FormatError);
});

test('an n:m group keeping the wrong count is a FormatError', () => {
  const bad = blob.slice();
  dv(bad).setUint16(masksAt, dv(bad).getUint16(masksAt, true) | 1, true); // group 0 of row 0 keeps 3
  assert.throws(check(bad), FormatError);
});

test('sparse metadata naming missing tensors, bad layouts or bad JSON is a FormatError', () => {
  const entry = (e: unknown) => JSON.stringify({ version: 1, tensors: { w: e } });
  const good = { dtype: 'f32', shape: [rows, cols], layout: '2:4' };
  assert.equal(sparseTensors('f', [{ name: 'w', data: blob }], entry(good)).length, 1);
  assert.throws(() => sparseTensors('f', [], entry(good)), FormatError);
  assert.throws(() => sparseTensors('f', [{ name: 'w', data: blob }], entry({ ...good, layout: '3:5' })), FormatError);
  assert.throws(() => sparseTensors('f', [{ name: 'w', data: blob }], entry({ ...good, shape: [rows, -1] })), FormatError);
  assert.throws(() => sparseTensors('f', [{ name: 'w', data: blob }], '{'), FormatError);
  assert.throws(() => sparseTensors('f', [{ name: 'w', data: blob }], undefined), FormatError);
});
