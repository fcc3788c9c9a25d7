import type { ModelConfig } from './model-config.js';
import type { RawTensor } from './tensor.js';

/**
 * What every format loader returns: a normalised config and the tensors under canonical
 * (Hugging Face Llama) names, e.g. `model.layers.3.self_attn.q_proj.weight`.
 * q/k projection rows are in the layout `config.ropeLayout` names; no loader permutes them.
 */
export interface Checkpoint {
  /** Path the checkpoint was read from (file or directory). */
  source: string;
  format: 'safetensors' | 'gguf' | 'llama2c';
  config: ModelConfig;
  tensors: Map<string, RawTensor>;
  /** Raw format metadata (GGUF key/values, HF config.json), for `info` and tokenizer loading. */
  metadata: Record<string, unknown>;
}

/** Canonical tensor names. Biases exist only for qkvBias models; lm_head only when untied. */
export const TENSOR_NAMES = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  layer: (i: number) => ({
    attnNorm: `model.layers.${i}.input_layernorm.weight`,
    wq: `model.layers.${i}.self_attn.q_proj.weight`,
    wk: `model.layers.${i}.self_attn.k_proj.weight`,
    wv: `model.layers.${i}.self_attn.v_proj.weight`,
    wo: `model.layers.${i}.self_attn.o_proj.weight`,
    bq: `model.layers.${i}.self_attn.q_proj.bias`,
    bk: `model.layers.${i}.self_attn.k_proj.bias`,
    bv: `model.layers.${i}.self_attn.v_proj.bias`,
    ffnNorm: `model.layers.${i}.post_attention_layernorm.weight`,
    wGate: `model.layers.${i}.mlp.gate_proj.weight`,
    wUp: `model.layers.${i}.mlp.up_proj.weight`,
    wDown: `model.layers.${i}.mlp.down_proj.weight`,
  }),
} as const;

/** One tensor a config needs: its canonical name, its shape, and whether it is a norm weight (a vector of gains). */
export interface TensorSpec {
  name: string;
  shape: number[];
  norm: boolean;
}

/** Every tensor `config` needs, in checkpoint order: the one list readers check and writers of random models fill. */
export function modelTensors(c: ModelConfig): TensorSpec[] {
  return [...eachModelTensor(c)];
}

/**
 * modelTensors one at a time. Readers walk it lazily and stop at the first tensor the file lacks, so a
 * hostile layer count costs no more than the tensors the file really holds.
 */
export function* eachModelTensor(c: ModelConfig): Generator<TensorSpec> {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const spec = (name: string, shape: number[], norm = false): TensorSpec => ({ name, shape, norm });
  yield spec(TENSOR_NAMES.embed, [c.vocabSize, c.dim]);
  yield spec(TENSOR_NAMES.finalNorm, [c.dim], true);
  if (!c.tiedEmbeddings) yield spec(TENSOR_NAMES.lmHead, [c.vocabSize, c.dim]);
  for (let l = 0; l < c.nLayers; l++) {
    const n = TENSOR_NAMES.layer(l);
    yield spec(n.attnNorm, [c.dim], true);
    yield spec(n.wq, [q, c.dim]);
    yield spec(n.wk, [kv, c.dim]);
    yield spec(n.wv, [kv, c.dim]);
    yield spec(n.wo, [c.dim, q]);
    if (c.qkvBias) {
      yield spec(n.bq, [q]);
      yield spec(n.bk, [kv]);
      yield spec(n.bv, [kv]);
    }
    yield spec(n.ffnNorm, [c.dim], true);
    yield spec(n.wGate, [c.hiddenDim, c.dim]);
    yield spec(n.wUp, [c.hiddenDim, c.dim]);
    yield spec(n.wDown, [c.dim, c.hiddenDim]);
  }
}
