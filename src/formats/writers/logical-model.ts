import type { ModelConfig } from '../model-config.js';
import type { SparseLayout } from '../sparse-matrix.js';
import type { DType } from '../tensor.js';

/** One tensor of a logical model. */
export interface LogicalTensor {
  shape: number[];
  /** The values as float32 (for a `stored` tensor, exactly what its bytes decode to). */
  data: Float32Array;
  /** Bytes already in a storage dtype (a matrix quantised while it was pruned): written as they are where the format holds the dtype. */
  stored?: { dtype: DType; bytes: Uint8Array };
  /** Write this matrix sparse in this layout, where the format and the dtype allow it and the blob is smaller than the dense bytes. */
  sparse?: SparseLayout;
}

/**
 * A model as plain float32 tensors under canonical names, q/k rows in the HF half-split rope
 * layout (`config.ropeLayout` 'half'). What the writers take.
 */
export interface LogicalModel {
  config: ModelConfig;
  tensors: Map<string, LogicalTensor>;
}
