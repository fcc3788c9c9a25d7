import type { ModelConfig } from '../model-config.js';

/**
 * A model as plain float32 tensors under canonical names, q/k rows in the HF half-split rope
 * layout (`config.ropeLayout` 'half'). What the writers take.
 */
export interface LogicalModel {
  config: ModelConfig;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}
