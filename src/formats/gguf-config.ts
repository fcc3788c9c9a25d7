import { validateConfig, type ModelConfig, type RopeLayout } from './model-config.js';
import { describeValue } from './describe-value.js';
import { FormatError } from './format-error.js';
import { toFloat32 } from './dequant.js';
import { ropeScalingFromFreqFactors } from './gguf-rope-freqs.js';
import { elementCount, type RawTensor } from './tensor.js';

/**
 * Rope pairing per GGUF architecture: llama.cpp's converter permutes llama/mistral q/k rows into
 * interleaved pairs; qwen2 uses NEOX rope on unpermuted (half-split) rows.
 */
export const GGUF_ROPE_LAYOUT: Record<string, RopeLayout> = { llama: 'interleaved', mistral: 'interleaved', qwen2: 'half' };

/** llama.cpp's tensor of Llama 3 rope frequency divisors. */
export const ROPE_FREQS = 'rope_freqs.weight';

/** Normalises GGUF metadata (plus the tensors, for vocab size, bias and tying) into a ModelConfig. */
export function modelConfigFromGguf(metadata: Record<string, unknown>, tensors: readonly RawTensor[], source: string): ModelConfig {
  const arch = metadata['general.architecture'];
  if (typeof arch !== 'string') throw new FormatError(source, 'general.architecture is missing');
  // hasOwn: an architecture named "constructor" must not find Object.prototype's members.
  const ropeLayout = Object.hasOwn(GGUF_ROPE_LAYOUT, arch) ? GGUF_ROPE_LAYOUT[arch] : undefined;
  if (!ropeLayout) throw new FormatError(source, `architecture ${describeValue(arch)} is not supported (llama, mistral, qwen2)`);
  const opt = (key: string): number | undefined => {
    const v = metadata[`${arch}.${key}`];
    if (v === undefined) return undefined;
    if (typeof v !== 'number') throw new FormatError(source, `${arch}.${key} is not a number`);
    return v;
  };
  const req = (key: string): number => {
    const v = opt(key);
    if (v === undefined) throw new FormatError(source, `${arch}.${key} is missing`);
    return v;
  };
  const idOf = (key: string): number | undefined => {
    const v = metadata[`tokenizer.ggml.${key}`];
    // -1 (often stored as u32 4294967295) means "none", as in llama.cpp.
    return typeof v === 'number' && v !== -1 && v !== 0xffffffff ? v : undefined;
  };
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const dim = req('embedding_length');
  const nHeads = req('attention.head_count');
  const headDim = opt('attention.key_length') ?? dim / nHeads;
  const ropeDims = opt('rope.dimension_count');
  if (ropeDims !== undefined && ropeDims !== headDim) throw new FormatError(source, `partial rotary embedding (${ropeDims} of ${headDim} dims) is not supported`);
  const scalingType = metadata[`${arch}.rope.scaling.type`];
  if (scalingType !== undefined && scalingType !== 'none') throw new FormatError(source, `rope scaling ${describeValue(scalingType)} is not supported`);

  const tokens = metadata['tokenizer.ggml.tokens'];
  const vocabSize = byName.get('token_embd.weight')?.shape[0] ?? opt('vocab_size') ?? (Array.isArray(tokens) ? tokens.length : undefined);
  const eosIds = [idOf('eos_token_id'), idOf('eot_token_id')].filter((x): x is number => x !== undefined);
  const config: ModelConfig = {
    arch,
    dim,
    hiddenDim: req('feed_forward_length'),
    nLayers: req('block_count'),
    nHeads,
    nKvHeads: opt('attention.head_count_kv') ?? nHeads,
    headDim,
    vocabSize: vocabSize ?? 0,
    maxSeqLen: req('context_length'),
    normEps: shortestF32(req('attention.layer_norm_rms_epsilon')),
    ropeTheta: shortestF32(opt('rope.freq_base') ?? 10000),
    ropeLayout,
    qkvBias: arch === 'qwen2' || byName.has('blk.0.attn_q.bias'),
    tiedEmbeddings: !byName.has('output.weight'),
    eosIds: [...new Set(eosIds)],
  };
  const freqs = byName.get(ROPE_FREQS);
  if (freqs) {
    if (freqs.dtype !== 'f32') throw new FormatError(source, `rope_freqs must be f32, is ${freqs.dtype}`);
    const scaling = ropeScalingFromFreqFactors(toFloat32('f32', freqs.data, elementCount(freqs.shape)), config.ropeTheta, headDim, source);
    if (scaling) config.ropeScaling = scaling;
  }
  const window = opt('attention.sliding_window');
  if (window !== undefined && window > 0) config.slidingWindow = window;
  const bos = idOf('bos_token_id');
  if (bos !== undefined) config.bosId = bos;
  return validateConfig(config, source);
}

/** GGUF stores eps and theta as float32: take the shortest decimal that is the same float32 (1e-5, not 9.99999974e-6). */
function shortestF32(x: number): number {
  if (Math.fround(x) !== x) return x;
  for (let digits = 1; digits < 10; digits++) {
    const d = Number(x.toPrecision(digits));
    if (Math.fround(d) === x) return d;
  }
  return x;
}
