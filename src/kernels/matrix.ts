import type { SparseLayout } from '../formats/sparse-matrix.js';
import type { DType } from '../formats/tensor.js';

/**
 * A weight matrix as the kernels use it: [rows = outputs, cols = inputs], row-major, in its storage
 * dtype (quantized blocks run along a row). `data` may be a view into a backend's memory. With
 * `sparse` set, `data` is a sparse blob (formats/sparse-matrix.ts) holding values of `dtype`.
 */
export interface Matrix {
  rows: number;
  cols: number;
  dtype: DType;
  data: Uint8Array;
  sparse?: SparseLayout;
}
