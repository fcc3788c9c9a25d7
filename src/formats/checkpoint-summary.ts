import type { Checkpoint } from './checkpoint.js';
import { sparseKeptCount, type SparseLayout } from './sparse-matrix.js';
import type { DType, RawTensor } from './tensor.js';
import { elementCount, tensorBytes } from './tensor.js';

/** What `kvtrim info` reports about a checkpoint, computed from its config and tensors. */
export interface CheckpointSummary {
  parameters: number;
  /** Bytes the weights take as stored (sparse matrices as their blobs). */
  weightBytes: number;
  /** Bytes they would take with every sparse matrix stored dense in its value dtype. */
  denseWeightBytes: number;
  /** Tensor count per storage dtype. */
  dtypes: Partial<Record<DType, number>>;
  /** Bytes one token adds to a float32 KV cache: 2 (k and v) × layers × kv heads × head dim × 4. */
  kvBytesPerToken: number;
}

export function summarizeCheckpoint(ckpt: Checkpoint): CheckpointSummary {
  const c = ckpt.config;
  let parameters = 0;
  let weightBytes = 0;
  let denseWeightBytes = 0;
  const dtypes: Partial<Record<DType, number>> = {};
  for (const t of ckpt.tensors.values()) {
    parameters += elementCount(t.shape);
    weightBytes += t.data.byteLength;
    denseWeightBytes += denseBytes(t);
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  }
  return { parameters, weightBytes, denseWeightBytes, dtypes, kvBytesPerToken: 2 * c.nLayers * c.nKvHeads * c.headDim * 4 };
}

/** One weight matrix as stored. */
export interface MatrixSummary {
  name: string;
  rows: number;
  cols: number;
  dtype: DType;
  /** Set when the matrix is stored sparse. */
  layout?: SparseLayout;
  /** Share of its weights stored (sparse) or non-zero (dense f32/f16/bf16); undefined for dense quantised matrices, whose zeros are not counted. */
  kept?: number;
  bytes: number;
  /** Bytes of the matrix dense in the same dtype. */
  denseBytes: number;
}

/** Every two-dimensional tensor of the checkpoint, in file order; reads each dense float matrix once to count its zeros. */
export function summarizeMatrices(ckpt: Checkpoint): MatrixSummary[] {
  const out: MatrixSummary[] = [];
  for (const [name, t] of ckpt.tensors) {
    if (t.shape.length !== 2) continue;
    const [rows, cols] = t.shape as [number, number];
    const kept = t.sparse ? sparseKeptCount(t.dtype, t.data, rows, cols) : nonZeroCount(t);
    out.push({
      name,
      rows,
      cols,
      dtype: t.dtype,
      ...(t.sparse ? { layout: t.sparse } : {}),
      ...(kept === undefined ? {} : { kept: kept / (rows * cols) }),
      bytes: t.data.byteLength,
      denseBytes: denseBytes(t),
    });
  }
  return out;
}

function denseBytes(t: RawTensor): number {
  return t.sparse ? tensorBytes(t.dtype, elementCount(t.shape))! : t.data.byteLength;
}

/** Non-zero values of a dense float tensor (±0 both count as zero); undefined for other dtypes. */
function nonZeroCount(t: RawTensor): number | undefined {
  const n = elementCount(t.shape);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let count = 0;
  if (t.dtype === 'f32') for (let i = 0; i < n; i++) count += dv.getUint32(4 * i, true) & 0x7fffffff ? 1 : 0;
  else if (t.dtype === 'f16' || t.dtype === 'bf16') for (let i = 0; i < n; i++) count += dv.getUint16(2 * i, true) & 0x7fff ? 1 : 0;
  else return undefined;
  return count;
}
