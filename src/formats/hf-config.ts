import { validateConfig, type ModelConfig, type RopeScaling } from './model-config.js';
import { describeValue } from './describe-value.js';
import { FormatError } from './format-error.js';

/**
 * Normalises a Hugging Face config.json (llama, qwen2, mistral and anything with the same keys).
 * `hasLmHead` says whether the weights carry a separate lm_head: without one the model is tied
 * whatever the config claims.
 */
export function modelConfigFromHf(json: unknown, source: string, opts: { hasLmHead: boolean }): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FormatError(source, 'config.json is not a JSON object');
  const j = json as Record<string, unknown>;
  const num = (key: string, fallback?: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(source, `config.json: ${key} is missing or not a number`);
    return v;
  };
  const optNum = (key: string): number | undefined => (j[key] === undefined || j[key] === null ? undefined : num(key));

  const arch = typeof j.model_type === 'string' ? j.model_type : 'llama';
  const dim = num('hidden_size');
  const nHeads = num('num_attention_heads');
  const nKvHeads = num('num_key_value_heads', nHeads);
  const headDim = optNum('head_dim') ?? dim / nHeads;

  let slidingWindow: number | undefined;
  if (j.use_sliding_window !== false) slidingWindow = optNum('sliding_window');

  const eos = j.eos_token_id;
  const eosIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosIds.every((e) => Number.isSafeInteger(e) && (e as number) >= 0)) throw new FormatError(source, 'config.json: eos_token_id must be an integer or a list of integers');
  const bosId = optNum('bos_token_id');

  const config: ModelConfig = {
    arch,
    dim,
    hiddenDim: num('intermediate_size'),
    nLayers: num('num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    vocabSize: num('vocab_size'),
    maxSeqLen: num('max_position_embeddings'),
    normEps: num('rms_norm_eps'),
    ropeTheta: num('rope_theta', 10000),
    ropeLayout: 'half',
    qkvBias: arch === 'qwen2' || j.attention_bias === true,
    tiedEmbeddings: j.tie_word_embeddings === true || !opts.hasLmHead,
    eosIds: eosIds as number[],
  };
  const scaling = ropeScalingFromHf(j.rope_scaling, source);
  if (scaling) config.ropeScaling = scaling;
  if (slidingWindow !== undefined) config.slidingWindow = slidingWindow;
  if (bosId !== undefined) config.bosId = bosId;
  return validateConfig(config, source);
}

function ropeScalingFromHf(v: unknown, source: string): RopeScaling | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object') throw new FormatError(source, 'config.json: rope_scaling must be an object');
  const s = v as Record<string, unknown>;
  const type = s.rope_type ?? s.type;
  if (type === 'default') return undefined;
  if (type !== 'llama3') throw new FormatError(source, `config.json: rope_scaling type ${describeValue(type)} is not supported (only llama3)`);
  const n = (key: string): number => {
    const x = s[key];
    if (typeof x !== 'number' || !(x > 0)) throw new FormatError(source, `config.json: rope_scaling.${key} is missing or not positive`);
    return x;
  };
  return {
    type: 'llama3',
    factor: n('factor'),
    lowFreqFactor: n('low_freq_factor'),
    highFreqFactor: n('high_freq_factor'),
    originalMaxPositions: n('original_max_position_embeddings'),
  };
}
