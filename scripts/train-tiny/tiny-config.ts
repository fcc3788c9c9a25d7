/** The trainer's architecture: a Llama with tied embeddings, GQA, RMSNorm, half-split RoPE and SwiGLU. */
export interface TinyConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  /** Longest training sequence; exported as max_position_embeddings. */
  maxSeqLen: number;
  normEps: number;
  ropeTheta: number;
}

export const headDim = (c: TinyConfig) => c.dim / c.nHeads;
