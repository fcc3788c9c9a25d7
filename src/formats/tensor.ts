import type { SparseLayout } from './sparse-matrix.js';

/**
 * Storage types a checkpoint tensor may have. Quantized types are block formats in GGML's layout:
 * 32-element blocks (q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl) and 256-element K-quant super-blocks.
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'iq4_nl' | 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k';

/** A named tensor as stored on disk: bytes are a view into the file, not yet converted. */
export interface RawTensor {
  name: string;
  dtype: DType;
  /** Row-major shape, outermost first (a matrix is [rows = out, cols = in]). */
  shape: number[];
  /** The stored bytes; for a sparse matrix, its blob (formats/sparse-matrix.ts) holding values of `dtype`. */
  data: Uint8Array;
  /** Set when the matrix is stored sparse. */
  sparse?: SparseLayout;
}

/** Elements per block and bytes per block of each storage type. */
export const DTYPE_LAYOUT: Record<DType, { blockElems: number; blockBytes: number }> = {
  f32: { blockElems: 1, blockBytes: 4 },
  f16: { blockElems: 1, blockBytes: 2 },
  bf16: { blockElems: 1, blockBytes: 2 },
  q8_0: { blockElems: 32, blockBytes: 34 },
  q4_0: { blockElems: 32, blockBytes: 18 },
  q4_1: { blockElems: 32, blockBytes: 20 },
  q5_0: { blockElems: 32, blockBytes: 22 },
  q5_1: { blockElems: 32, blockBytes: 24 },
  iq4_nl: { blockElems: 32, blockBytes: 18 },
  q2_k: { blockElems: 256, blockBytes: 84 },
  q3_k: { blockElems: 256, blockBytes: 110 },
  q4_k: { blockElems: 256, blockBytes: 144 },
  q5_k: { blockElems: 256, blockBytes: 176 },
  q6_k: { blockElems: 256, blockBytes: 210 },
};

/** Bytes a tensor of `elems` elements occupies; undefined when elems is not a whole number of blocks. */
export function tensorBytes(dtype: DType, elems: number): number | undefined {
  const { blockElems, blockBytes } = DTYPE_LAYOUT[dtype];
  if (!Number.isSafeInteger(elems) || elems < 0 || elems % blockElems !== 0) return undefined;
  return (elems / blockElems) * blockBytes;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
