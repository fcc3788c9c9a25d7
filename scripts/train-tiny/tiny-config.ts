import type { ModelConfig } from '../../src/model/config.js';

/** The trainer's architecture: a Llama with tied embeddings, GQA, RMSNorm, half-split RoPE and SwiGLU. */
export type TinyConfig = Pick<ModelConfig, 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'vocabSize' | 'maxSeqLen' | 'normEps' | 'ropeTheta'>;

export const headDim = (c: TinyConfig) => c.dim / c.nHeads;
