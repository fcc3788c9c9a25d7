import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { modelConfigFromGguf } from '../../src/formats/gguf-config.js';
import { modelConfigFromHf } from '../../src/formats/hf-config.js';
import type { RawTensor } from '../../src/formats/tensor.js';

const SRC = 'cfg.json';
const isFormatError = (pattern: RegExp) => (e: unknown) => e instanceof FormatError && e.message.startsWith(`${SRC}: `) && pattern.test(e.message);

const llama = {
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  tie_word_embeddings: true,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
};

test('HF config: Llama 3.2 style with llama3 rope scaling, GQA, eos list', () => {
  const c = modelConfigFromHf(llama, SRC, { hasLmHead: false });
  assert.deepEqual(c, {
    arch: 'llama', dim: 2048, hiddenDim: 8192, nLayers: 16, nHeads: 32, nKvHeads: 8, headDim: 64, vocabSize: 128256, maxSeqLen: 131072,
    normEps: 1e-5, ropeTheta: 500000, ropeLayout: 'half', qkvBias: false, tiedEmbeddings: true, bosId: 128000, eosIds: [128001, 128008, 128009],
    ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
  });
});

test('HF config: defaults (kv heads = heads, head dim = hidden / heads, theta 10000), tie from a missing lm_head', () => {
  const { num_key_value_heads: _k, rope_theta: _t, rope_scaling: _s, tie_word_embeddings: _w, ...bare } = llama;
  const c = modelConfigFromHf({ ...bare, eos_token_id: 2 }, SRC, { hasLmHead: true });
  assert.equal(c.nKvHeads, 32);
  assert.equal(c.headDim, 64);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.tiedEmbeddings, false);
  assert.deepEqual(c.eosIds, [2]);
  assert.equal(c.ropeScaling, undefined);
  assert.equal(modelConfigFromHf({ ...bare, tie_word_embeddings: false }, SRC, { hasLmHead: false }).tiedEmbeddings, true);
  assert.equal(modelConfigFromHf({ ...bare, head_dim: 128 }, SRC, { hasLmHead: true }).headDim, 128);
});

test('HF config: qwen2 has qkv bias, and a sliding window only when use_sliding_window is not false', () => {
  const qwen = { ...llama, model_type: 'qwen2', rope_scaling: null, use_sliding_window: false, sliding_window: 32768, max_window_layers: 21, rope_theta: 1e6 };
  const c = modelConfigFromHf(qwen, SRC, { hasLmHead: false });
  assert.equal(c.arch, 'qwen2');
  assert.equal(c.qkvBias, true);
  assert.equal(c.slidingWindow, undefined);
  assert.equal(modelConfigFromHf({ ...qwen, use_sliding_window: true }, SRC, { hasLmHead: false }).slidingWindow, 32768);
  const mistral = { ...llama, model_type: 'mistral', rope_scaling: null, sliding_window: 4096 };
  assert.equal(modelConfigFromHf(mistral, SRC, { hasLmHead: true }).slidingWindow, 4096);
  assert.equal(modelConfigFromHf({ ...mistral, sliding_window: null }, SRC, { hasLmHead: true }).slidingWindow, undefined);
  assert.equal(modelConfigFromHf({ ...llama, attention_bias: true }, SRC, { hasLmHead: true }).qkvBias, true);
});

test('HF config: bad input is a FormatError naming the file', () => {
  assert.throws(() => modelConfigFromHf([], SRC, { hasLmHead: true }), isFormatError(/not a JSON object/));
  assert.throws(() => modelConfigFromHf({ ...llama, hidden_size: '2048' }, SRC, { hasLmHead: true }), isFormatError(/hidden_size/));
  assert.throws(() => modelConfigFromHf({ ...llama, num_hidden_layers: undefined }, SRC, { hasLmHead: true }), isFormatError(/num_hidden_layers/));
  assert.throws(() => modelConfigFromHf({ ...llama, num_key_value_heads: 7 }, SRC, { hasLmHead: true }), isFormatError(/multiple of nKvHeads/));
  assert.throws(() => modelConfigFromHf({ ...llama, rope_scaling: { type: 'yarn', factor: 4 } }, SRC, { hasLmHead: true }), isFormatError(/yarn/));
  assert.throws(() => modelConfigFromHf({ ...llama, rope_scaling: { rope_type: 'llama3', factor: 8 } }, SRC, { hasLmHead: true }), isFormatError(/low_freq_factor/));
  assert.throws(() => modelConfigFromHf({ ...llama, eos_token_id: ['x'] }, SRC, { hasLmHead: true }), isFormatError(/eos_token_id/));
  assert.throws(() => modelConfigFromHf({ ...llama, rms_norm_eps: 0 }, SRC, { hasLmHead: true }), isFormatError(/eps/));
  assert.equal(modelConfigFromHf({ ...llama, rope_scaling: { rope_type: 'default' } }, SRC, { hasLmHead: true }).ropeScaling, undefined);
});

const tensor = (name: string, shape: number[]): RawTensor => ({ name, dtype: 'f32', shape, data: new Uint8Array(0) });
const ggufMeta = (arch: string, extra: Record<string, unknown> = {}) => ({
  'general.architecture': arch,
  [`${arch}.context_length`]: 32768,
  [`${arch}.embedding_length`]: 896,
  [`${arch}.feed_forward_length`]: 4864,
  [`${arch}.block_count`]: 24,
  [`${arch}.attention.head_count`]: 14,
  [`${arch}.attention.head_count_kv`]: 2,
  [`${arch}.attention.layer_norm_rms_epsilon`]: Math.fround(1e-6),
  [`${arch}.rope.freq_base`]: 1000000,
  'tokenizer.ggml.tokens': ['a', 'b', 'c'],
  'tokenizer.ggml.bos_token_id': 151643,
  'tokenizer.ggml.eos_token_id': 151645,
  'tokenizer.ggml.eot_token_id': 151645,
  ...extra,
});

test('GGUF metadata: qwen2 keeps half rope and has biases; vocab from token_embd, else the token list', () => {
  const c = modelConfigFromGguf(ggufMeta('qwen2'), [tensor('token_embd.weight', [151936, 896])], SRC);
  assert.deepEqual(c, {
    arch: 'qwen2', dim: 896, hiddenDim: 4864, nLayers: 24, nHeads: 14, nKvHeads: 2, headDim: 64, vocabSize: 151936, maxSeqLen: 32768,
    normEps: 1e-6, ropeTheta: 1e6, ropeLayout: 'half', qkvBias: true, tiedEmbeddings: true, bosId: 151643, eosIds: [151645],
  });
  const ids = { 'tokenizer.ggml.bos_token_id': 0, 'tokenizer.ggml.eos_token_id': 2, 'tokenizer.ggml.eot_token_id': 0xffffffff };
  assert.deepEqual(modelConfigFromGguf(ggufMeta('qwen2', ids), [], SRC).eosIds, [2], 'eot 0xffffffff (-1) means none');
  assert.equal(modelConfigFromGguf(ggufMeta('qwen2', ids), [], SRC).vocabSize, 3);
  assert.throws(() => modelConfigFromGguf(ggufMeta('qwen2'), [], SRC), isFormatError(/bos id 151643 is outside the vocabulary of 3/));
});

test('GGUF metadata: llama/mistral are interleaved; output tensor unties; bias from tensors; sliding window; key_length', () => {
  const m = modelConfigFromGguf(ggufMeta('mistral', { 'mistral.attention.sliding_window': 4096 }), [tensor('output.weight', [151936, 896]), tensor('token_embd.weight', [151936, 896])], SRC);
  assert.equal(m.ropeLayout, 'interleaved');
  assert.equal(m.slidingWindow, 4096);
  assert.equal(m.tiedEmbeddings, false);
  assert.equal(m.qkvBias, false);
  const l = modelConfigFromGguf(ggufMeta('llama', { 'llama.attention.key_length': 128, 'llama.rope.dimension_count': 128 }), [tensor('blk.0.attn_q.bias', [1792]), tensor('token_embd.weight', [151936, 896])], SRC);
  assert.equal(l.headDim, 128);
  assert.equal(l.qkvBias, true);
  assert.equal(l.ropeTheta, 1e6);
  assert.equal(modelConfigFromGguf(ggufMeta('llama', { 'llama.rope.freq_base': undefined }), [tensor('token_embd.weight', [151936, 896])], SRC).ropeTheta, 10000);
});

test('GGUF metadata: unsupported or missing pieces are FormatErrors', () => {
  assert.throws(() => modelConfigFromGguf({}, [], SRC), isFormatError(/general.architecture/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('gpt2'), [], SRC), isFormatError(/"gpt2" is not supported/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama', { 'llama.block_count': undefined }), [], SRC), isFormatError(/llama.block_count is missing/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama', { 'llama.block_count': '24' }), [], SRC), isFormatError(/not a number/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama', { 'llama.rope.dimension_count': 32 }), [], SRC), isFormatError(/partial rotary/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama', { 'llama.rope.scaling.type': 'linear' }), [], SRC), isFormatError(/rope scaling "linear"/));
  const zigzag = new Float32Array(32).map((_, i) => 1 + (i % 2));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama'), [{ ...tensor('rope_freqs.weight', [32]), data: new Uint8Array(zigzag.buffer) }], SRC), isFormatError(/rope_freqs does not follow/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama'), [{ ...tensor('rope_freqs.weight', [32]), dtype: 'f16', data: new Uint8Array(64) }], SRC), isFormatError(/rope_freqs must be f32/));
  assert.throws(() => modelConfigFromGguf(ggufMeta('llama', { 'tokenizer.ggml.tokens': undefined }), [], SRC), isFormatError(/vocabSize/));
});
