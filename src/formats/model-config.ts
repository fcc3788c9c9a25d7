import { FormatError } from './format-error.js';

/** RoPE pair layout: HF checkpoints rotate (i, i + d/2); llama2.c and GGUF llama rotate (2i, 2i+1). */
export type RopeLayout = 'half' | 'interleaved';

/** Llama 3 style frequency-dependent rope scaling. */
export interface RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/** A Llama-family architecture, normalised from HF config.json, GGUF metadata or a llama2.c header. */
export interface ModelConfig {
  /** Source architecture name: llama, qwen2, mistral, ... */
  arch: string;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Context length the model was trained for. */
  maxSeqLen: number;
  normEps: number;
  ropeTheta: number;
  ropeLayout: RopeLayout;
  ropeScaling?: RopeScaling;
  /** Mistral sliding-window attention: a query sees only the last `slidingWindow` positions. */
  slidingWindow?: number;
  /** Qwen2 adds biases to q, k and v projections. */
  qkvBias: boolean;
  tiedEmbeddings: boolean;
  bosId?: number;
  eosIds: number[];
}

/** Rejects configurations the forward pass cannot run; returns the config for chaining. */
export function validateConfig(c: ModelConfig, source: string): ModelConfig {
  const positive: (keyof ModelConfig)[] = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'maxSeqLen'];
  for (const k of positive) {
    const v = c[k] as number;
    if (!Number.isSafeInteger(v) || v <= 0 || v > 1 << 24) throw new FormatError(source, `config ${k} = ${v} is not a sane positive integer`);
  }
  if (c.nHeads % c.nKvHeads !== 0) throw new FormatError(source, `nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}`);
  if (c.headDim % 2 !== 0) throw new FormatError(source, `headDim ${c.headDim} must be even for RoPE`);
  if (!(c.normEps > 0 && c.normEps < 1)) throw new FormatError(source, `rms norm eps ${c.normEps} out of range`);
  if (!(c.ropeTheta > 0)) throw new FormatError(source, `rope theta ${c.ropeTheta} must be positive`);
  // Special ids index the embedding: one past the vocabulary would fail only at the first forward pass.
  for (const [what, id] of [['bos id', c.bosId], ...c.eosIds.map((e) => ['eos id', e] as const)] as const)
    if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0 && id < c.vocabSize)) throw new FormatError(source, `${what} ${id} is outside the vocabulary of ${c.vocabSize}`);
  return c;
}
