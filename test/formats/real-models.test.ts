import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { FormatError } from '../../src/formats/format-error.js';
import { parseGguf } from '../../src/formats/gguf.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { toFloat32 } from '../../src/formats/dequant.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

const floats = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

test('stories260K.bin: llama2.c v0 config and per-layer slices match a naive offset computation', () => {
  const ck = loadCheckpoint(modelPath('stories260K/stories260K.bin'));
  assert.equal(ck.format, 'llama2c');
  assert.deepEqual(
    { ...ck.config },
    { arch: 'llama', dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, vocabSize: 512, maxSeqLen: 512, normEps: 1e-5, ropeTheta: 10000, ropeLayout: 'interleaved', qkvBias: false, tiedEmbeddings: true, bosId: 1, eosIds: [2] },
  );
  assert.equal(ck.tensors.size, 2 + 5 * 9);
  // Independent reading: layer 3's wk and w2 (down) by explicit offsets from the README layout.
  const raw = readFileSync(modelPath('stories260K/stories260K.bin'));
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const [V, D, L, F, KV] = [512, 64, 5, 172, 32];
  const at = (floatOffset: number, n: number) => Float32Array.from({ length: n }, (_, i) => dv.getFloat32(28 + 4 * (floatOffset + i), true));
  const wkStart = V * D + L * D + L * D * D + 3 * KV * D;
  assert.deepEqual(floats(ck.tensors.get(TENSOR_NAMES.layer(3).wk)!.data), at(wkStart, KV * D));
  const w2Start = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + L * F * D + 4 * D * F;
  assert.deepEqual(floats(ck.tensors.get(TENSOR_NAMES.layer(4).wDown)!.data), at(w2Start, D * F));
  assert.deepEqual(ck.tensors.get(TENSOR_NAMES.layer(4).wDown)!.shape, [64, 172]);
});

test('stories260K.gguf: every tensor bit-identical to stories260K.bin; metadata → config', () => {
  const gg = loadCheckpoint(modelPath('stories260K/stories260K.gguf'));
  const bin = loadCheckpoint(modelPath('stories260K/stories260K.bin'));
  assert.equal(gg.format, 'gguf');
  assert.equal(gg.config.ropeLayout, 'interleaved');
  assert.equal(gg.config.maxSeqLen, 2048);
  assert.equal(gg.config.tiedEmbeddings, false, 'output.weight is stored as its own tensor');
  assert.equal(gg.config.nKvHeads, 4);
  assert.equal(gg.config.headDim, 8);
  assert.equal(gg.config.bosId, 1);
  assert.deepEqual(gg.config.eosIds, [2]);
  assert.equal(gg.config.normEps, 1e-5, 'float32 eps read back as its shortest decimal');
  for (const [name, t] of bin.tensors) {
    const g = gg.tensors.get(name);
    assert.ok(g, name);
    assert.equal(g.dtype, 'f32');
    assert.deepEqual(g.shape, t.shape, name);
    assert.deepEqual(Buffer.from(g.data), Buffer.from(t.data), name);
  }
  assert.deepEqual(Buffer.from(gg.tensors.get(TENSOR_NAMES.lmHead)!.data), Buffer.from(bin.tensors.get(TENSOR_NAMES.embed)!.data));
  assert.equal((gg.metadata['tokenizer.ggml.tokens'] as string[]).length, 512);
});

test('stories260K_q80.bin: llama2.c v2 dequantizes to within 0.0056 of the float32 weights', { skip: needsExtraModels }, () => {
  const q = loadCheckpoint(modelPath('stories260K/stories260K_q80.bin'));
  const f = loadCheckpoint(modelPath('stories260K/stories260K.bin'));
  assert.deepEqual(q.config, f.config);
  let worst = 0;
  let anyDiff = false;
  for (const [name, t] of f.tensors) {
    const a = floats(t.data);
    const b = floats(q.tensors.get(name)!.data);
    assert.equal(b.length, a.length, name);
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      worst = Math.max(worst, d);
      if (d > 0) anyDiff = true;
    }
  }
  assert.ok(worst <= 0.0056, `max |diff| ${worst}`);
  assert.ok(anyDiff, 'quantized weights should differ somewhere');
  // Norms are stored in float32 in v2: exact.
  assert.deepEqual(Buffer.from(q.tensors.get(TENSOR_NAMES.layer(2).ffnNorm)!.data), Buffer.from(f.tensors.get(TENSOR_NAMES.layer(2).ffnNorm)!.data));
});

test('tinystories-656K: HF safetensors, GQA, the embedding taken from lm_head', { skip: needsExtraModels }, () => {
  const ck = loadCheckpoint(modelPath('tinystories-656K'));
  assert.equal(ck.format, 'safetensors');
  const c = ck.config;
  assert.deepEqual(
    [c.arch, c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.headDim, c.vocabSize, c.maxSeqLen, c.normEps, c.ropeTheta, c.ropeLayout, c.tiedEmbeddings, c.qkvBias, c.bosId],
    ['llama', 128, 384, 2, 8, 4, 16, 2048, 512, 1e-6, 10000, 'half', true, false, 1],
  );
  assert.deepEqual(c.eosIds, [2]);
  const embed = ck.tensors.get(TENSOR_NAMES.embed)!;
  assert.deepEqual(embed.shape, [2048, 128]);
  // Independent parse of the header for lm_head's bytes.
  const raw = readFileSync(modelPath('tinystories-656K/model.safetensors'));
  const hlen = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + hlen).toString()) as Record<string, { data_offsets: [number, number] }>;
  const [b, e] = header['lm_head.weight']!.data_offsets;
  assert.deepEqual(Buffer.from(embed.data), raw.subarray(8 + hlen + b, 8 + hlen + e));
  const [qb, qe] = header['model.layers.1.self_attn.k_proj.weight']!.data_offsets;
  assert.deepEqual(Buffer.from(ck.tensors.get(TENSOR_NAMES.layer(1).wk)!.data), raw.subarray(8 + hlen + qb, 8 + hlen + qe));
  assert.equal(ck.metadata.model_type, 'llama');
});

test('aidreams260K and zh-poem750K: llama2.c v0 headers', { skip: needsExtraModels }, () => {
  const a = loadCheckpoint(modelPath('aidreams260K/aidreams260K.bin')).config;
  assert.deepEqual([a.dim, a.hiddenDim, a.nLayers, a.nHeads, a.nKvHeads, a.vocabSize, a.maxSeqLen, a.headDim], [64, 172, 4, 4, 4, 512, 128, 16]);
  const p = loadCheckpoint(modelPath('zh-poem750K/poem_model.bin'));
  const c = p.config;
  assert.deepEqual([c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.maxSeqLen, c.headDim], [96, 256, 5, 6, 6, 2048, 128, 16]);
  const emb = toFloat32('f32', p.tensors.get(TENSOR_NAMES.embed)!.data, 2048 * 96);
  assert.ok(emb.every(Number.isFinite));
});

test('vocab-only GGUF files parse with zero tensors, metadata as plain JS values', () => {
  const spm = parseGguf(readFileSync(modelPath('llama-cpp-vocab/ggml-vocab-llama-spm.gguf')), 'spm');
  assert.equal(spm.version, 3);
  assert.equal(spm.tensors.length, 0);
  const tokens = spm.metadata['tokenizer.ggml.tokens'] as string[];
  assert.equal(tokens.length, 32000);
  assert.equal(tokens[1], '<s>');
  assert.equal((spm.metadata['tokenizer.ggml.scores'] as number[]).length, 32000);
  assert.equal(spm.metadata['tokenizer.ggml.model'], 'llama');
  assert.equal(spm.metadata['llama.block_count'], 32);
  const gpt2 = parseGguf(readFileSync(modelPath('llama-cpp-vocab/ggml-vocab-gpt-2.gguf')), 'gpt2');
  assert.equal((gpt2.metadata['tokenizer.ggml.merges'] as string[]).length, 50000);
  assert.equal((gpt2.metadata['tokenizer.ggml.tokens'] as string[]).length, 50257);
  // A vocab-only file is not a model.
  assert.throws(() => loadCheckpoint(modelPath('llama-cpp-vocab/ggml-vocab-llama-spm.gguf')), (e: unknown) => e instanceof FormatError && /missing tensor model\.embed_tokens/.test(e.message));
});
