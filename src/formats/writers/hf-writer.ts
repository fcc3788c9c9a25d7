import { platform } from '../../platform/platform.js';
import type { ModelConfig } from '../model-config.js';
import { FormatError } from '../format-error.js';
import { HF_INDEX_FILE, HF_SINGLE_FILE } from '../hf-checkpoint.js';
import { SAFETENSORS_DTYPE_NAME } from '../safetensors.js';
import { writtenTensor } from './written-tensor.js';
import type { LogicalModel } from './logical-model.js';
import { encodeSafetensors, type EncodedTensor } from './safetensors-writer.js';

export interface HfWriteOptions {
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Number of safetensors shards; more than 1 also writes model.safetensors.index.json. */
  shards?: number;
}

const ARCHITECTURES: Record<string, string> = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' };

/** Writes a Hugging Face model directory: config.json and model.safetensors (or N shards with an index). */
export function writeHfModel(dir: string, model: LogicalModel, opts: HfWriteOptions = {}): void {
  const { config } = model;
  const dtype = opts.dtype ?? 'f32';
  const shards = opts.shards ?? 1;
  if (config.ropeLayout !== 'half') throw new FormatError(dir, 'the HF writer takes a model in the half-split rope layout');
  if (config.arch === 'qwen2' && !config.qkvBias) throw new FormatError(dir, 'qwen2 models always have q/k/v biases');
  const tensors: EncodedTensor[] = [...model.tensors].map(([name, t]) => ({ name, shape: t.shape, ...writtenTensor(t, dtype, (d) => Object.hasOwn(SAFETENSORS_DTYPE_NAME, d)) }));
  if (!Number.isInteger(shards) || shards < 1 || shards > tensors.length) throw new FormatError(dir, `cannot split ${tensors.length} tensors into ${shards} shards`);
  const { join, writeFile, makeDir } = platform();
  makeDir(dir);
  writeFile(join(dir, 'config.json'), JSON.stringify(hfConfigJson(config, dtype), null, 2) + '\n');
  if (shards === 1) {
    writeFile(join(dir, HF_SINGLE_FILE), encodeSafetensors(tensors));
    return;
  }
  const total = tensors.reduce((a, t) => a + t.data.byteLength, 0);
  const weightMap: Record<string, string> = {};
  let next = 0;
  let written = 0;
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    // Fill each shard up to its cumulative share of the bytes, leaving at least one tensor per later shard.
    const part: EncodedTensor[] = [];
    const fits = () => s === shards - 1 || part.length === 0 || written + tensors[next]!.data.byteLength <= (total * (s + 1)) / shards;
    while (next < tensors.length - (shards - s - 1) && fits()) {
      written += tensors[next]!.data.byteLength;
      part.push(tensors[next++]!);
    }
    for (const t of part) weightMap[t.name] = file;
    writeFile(join(dir, file), encodeSafetensors(part));
  }
  writeFile(join(dir, HF_INDEX_FILE), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
}

function hfConfigJson(c: ModelConfig, dtype: string): Record<string, unknown> {
  const torchDtype = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[dtype];
  return {
    architectures: [Object.hasOwn(ARCHITECTURES, c.arch) ? ARCHITECTURES[c.arch] : ARCHITECTURES.llama],
    model_type: c.arch,
    hidden_act: 'silu',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: c.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: c.ropeScaling.factor,
          low_freq_factor: c.ropeScaling.lowFreqFactor,
          high_freq_factor: c.ropeScaling.highFreqFactor,
          original_max_position_embeddings: c.ropeScaling.originalMaxPositions,
        }
      : null,
    use_sliding_window: c.slidingWindow !== undefined,
    sliding_window: c.slidingWindow ?? null,
    attention_bias: c.qkvBias,
    tie_word_embeddings: c.tiedEmbeddings,
    bos_token_id: c.bosId ?? null,
    eos_token_id: c.eosIds.length === 1 ? c.eosIds[0] : c.eosIds,
    torch_dtype: torchDtype,
  };
}
