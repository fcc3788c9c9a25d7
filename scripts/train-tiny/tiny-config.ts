import type { ModelConfig } from '../../src/formats/model-config.js';

/** The trainer's architecture: a Llama with tied embeddings, GQA, RMSNorm, half-split RoPE and SwiGLU. */
export type TinyConfig = Pick<ModelConfig, 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'vocabSize' | 'maxSeqLen' | 'normEps' | 'ropeTheta'>;

export const headDim = (c: TinyConfig) => c.dim / c.nHeads;

/** The one test that a saved run (a state or an exported record) is of this configuration: field by field. */
export const sameConfig = (a: TinyConfig, b: TinyConfig) =>
  Object.keys(a).length === Object.keys(b).length && (Object.keys(a) as (keyof TinyConfig)[]).every((k) => a[k] === b[k]);
