import { encodeSparse, sparseFits, type SparseLayout } from '../sparse-matrix.js';
import type { DType } from '../tensor.js';
import { encodeTensor } from './encode-tensor.js';
import type { LogicalTensor } from './logical-model.js';

/** What a writer puts in the file for one tensor: dense bytes of `dtype`, or (with `sparse`) a sparse blob of `dtype` values. */
export interface WrittenTensor {
  dtype: DType;
  data: Uint8Array;
  sparse?: SparseLayout;
}

/**
 * What a writer that would encode `t` as `dtype` stores. Dense: the tensor's own quantised bytes when
 * the format holds their dtype (`holds`), else `data` encoded as `dtype`. A tensor marked sparse is
 * written as a blob of its own bytes (or of the dense encoding) when the layout fits and the blob
 * is smaller than the dense bytes — so a quantised matrix reaches a format that cannot hold its
 * dtype densely as a sparse blob, and falls back to its float values there otherwise.
 */
export function writtenTensor(t: LogicalTensor, dtype: DType, holds: (d: DType) => boolean): WrittenTensor {
  const dense: WrittenTensor = t.stored && holds(t.stored.dtype) ? { dtype: t.stored.dtype, data: t.stored.bytes } : { dtype, data: encodeTensor(dtype, t.data) };
  const [rows, cols] = t.shape;
  if (!t.sparse || t.shape.length !== 2 || rows === undefined || cols === undefined) return dense;
  const values = t.stored ?? { dtype, bytes: dense.data };
  if (!sparseFits(values.dtype, cols, t.sparse)) return dense;
  const blob = encodeSparse(values.dtype, values.bytes, rows, cols, t.sparse);
  return blob.byteLength < dense.data.byteLength ? { dtype: values.dtype, data: blob, sparse: t.sparse } : dense;
}
