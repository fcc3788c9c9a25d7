import type { Checkpoint } from './checkpoint.js';
import type { DType } from './tensor.js';
import { elementCount } from './tensor.js';

/** What `kvtrim info` reports about a checkpoint, computed from its config and tensors. */
export interface CheckpointSummary {
  parameters: number;
  weightBytes: number;
  /** Tensor count per storage dtype. */
  dtypes: Partial<Record<DType, number>>;
  /** Bytes one token adds to a float32 KV cache: 2 (k and v) × layers × kv heads × head dim × 4. */
  kvBytesPerToken: number;
}

export function summarizeCheckpoint(ckpt: Checkpoint): CheckpointSummary {
  const c = ckpt.config;
  let parameters = 0;
  let weightBytes = 0;
  const dtypes: Partial<Record<DType, number>> = {};
  for (const t of ckpt.tensors.values()) {
    parameters += elementCount(t.shape);
    weightBytes += t.data.byteLength;
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  }
  return { parameters, weightBytes, dtypes, kvBytesPerToken: 2 * c.nLayers * c.nKvHeads * c.headDim * 4 };
}
