import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Checkpoint } from '../../src/formats/checkpoint.js';
import { FormatError } from '../../src/formats/format-error.js';
import { parseGguf } from '../../src/formats/gguf.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { loadTokenizer } from '../../src/tokenizer/load-tokenizer.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

const reference = JSON.parse(readFileSync(modelPath('stories260K/reference.json'), 'utf8')) as { cases: { prompt: string; prompt_ids: number[] }[] };

/** A checkpoint as a format loader would describe it; the tokenizer reads only source, format, metadata and vocabSize. */
function checkpoint(format: Checkpoint['format'], source: string, vocabSize: number, metadata: Record<string, unknown> = {}): Checkpoint {
  const config: ModelConfig = {
    arch: 'llama', dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, vocabSize, maxSeqLen: 512,
    normEps: 1e-5, ropeTheta: 10000, ropeLayout: 'interleaved', qkvBias: false, tiedEmbeddings: true, eosIds: [2],
  };
  return { source, format, config, tensors: new Map(), metadata };
}

test('llama2c: tok*.bin beside the model, or --tokenizer', { skip: needsExtraModels }, async () => {
  const stories = await loadTokenizer(checkpoint('llama2c', modelPath('stories260K/stories260K.bin'), 512));
  for (const c of reference.cases) assert.deepEqual(stories.encode(c.prompt), c.prompt_ids);
  const dreams = await loadTokenizer(checkpoint('llama2c', modelPath('aidreams260K/aidreams260K.bin'), 512));
  assert.equal(dreams.decode(dreams.encode('I dream of')), 'I dream of');
  // zh-poem's poem_tok.bin is not named tok*.bin: the error says what to do.
  const poem = checkpoint('llama2c', modelPath('zh-poem750K/poem_model.bin'), 2048);
  await assert.rejects(loadTokenizer(poem), (e: unknown) => e instanceof FormatError && /pass --tokenizer/.test(e.problem));
  const tok = await loadTokenizer(poem, { tokenizerPath: modelPath('zh-poem750K/poem_tok.bin') });
  assert.equal(tok.vocabSize, 2048);
  assert.equal(tok.decode(tok.encode('床前明月光')), '床前明月光');
});

test('gguf: the vocabulary embedded in the metadata', async () => {
  const file = modelPath('stories260K/stories260K.gguf');
  const tok = await loadTokenizer(checkpoint('gguf', file, 512, parseGguf(readFileSync(file), file).metadata));
  for (const c of reference.cases) assert.deepEqual(tok.encode(c.prompt), c.prompt_ids);
  await assert.rejects(loadTokenizer(checkpoint('gguf', 'weights-only.gguf', 512, { 'general.architecture': 'llama' })), /no embedded tokenizer/);
});

test('safetensors: tokenizer.json in the model directory (given as the directory or a file in it)', { skip: needsExtraModels }, async () => {
  for (const source of [modelPath('tinystories-656K'), modelPath('tinystories-656K/model.safetensors')]) {
    const tok = await loadTokenizer(checkpoint('safetensors', source, 2048));
    assert.equal(tok.vocabSize, 2048);
    assert.equal(tok.encode('Once upon a time')[0], 1);
  }
  await assert.rejects(loadTokenizer(checkpoint('safetensors', modelPath('stories260K'), 512)), /no tokenizer.json/);
});

test('--tokenizer accepts tokenizer.json, its directory, a .gguf or a .bin, and rejects what it cannot read', { skip: needsExtraModels }, async () => {
  const ck = checkpoint('safetensors', modelPath('tinystories-656K'), 2048);
  assert.equal((await loadTokenizer(ck, { tokenizerPath: modelPath('tinystories-656K/tokenizer.json') })).vocabSize, 2048);
  assert.equal((await loadTokenizer(ck, { tokenizerPath: modelPath('tinystories-656K') })).vocabSize, 2048);
  // GPT-2's 50,257 ids do not fit this model's 2,048 embedding rows: refused at load, not at the first forward pass.
  await assert.rejects(loadTokenizer(ck, { tokenizerPath: modelPath('llama-cpp-vocab/ggml-vocab-gpt-2.gguf') }), /the tokenizer has 50257 ids, the model's vocabulary only 2048/);
  assert.equal((await loadTokenizer(checkpoint('safetensors', modelPath('tinystories-656K'), 50257), { tokenizerPath: modelPath('llama-cpp-vocab/ggml-vocab-gpt-2.gguf') })).vocabSize, 50257);
  assert.equal((await loadTokenizer(ck, { tokenizerPath: modelPath('stories260K/tok512.bin') })).vocabSize, 512);
  await assert.rejects(loadTokenizer(ck, { tokenizerPath: modelPath('nothing-here.json') }), (e: unknown) => e instanceof FormatError && /not found/.test(e.problem));
  await assert.rejects(loadTokenizer(ck, { tokenizerPath: modelPath('stories260K/tok512.model') }), /SentencePiece .model files are not supported/);
  await assert.rejects(loadTokenizer(ck, { tokenizerPath: modelPath('stories260K/reference.json') }), FormatError);
  await assert.rejects(loadTokenizer(ck, { tokenizerPath: modelPath('stories260K/stories260K.bin') }), FormatError);
});
