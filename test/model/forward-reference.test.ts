import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';
import { maxRelError, referenceLogits } from '../helpers/reference-forward.js';

const variants: [string, Partial<ModelConfig>][] = [
  ['MHA, untied', { nKvHeads: 4, tiedEmbeddings: false }],
  ['GQA, tied', {}],
  ['multi-query', { nKvHeads: 1 }],
  ['qkv bias (Qwen2)', { arch: 'qwen2', qkvBias: true, ropeTheta: 1e6 }],
  ['llama3 rope scaling', { ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 }, ropeTheta: 500000 }],
  ['sliding window (Mistral)', { arch: 'mistral', slidingWindow: 5 }],
  ['interleaved rope', { ropeLayout: 'interleaved' }],
];

const tokens = [1, 5, 9, 30, 2, 17, 17, 3, 36, 8, 11, 0, 22, 4];

for (const [name, over] of variants) {
  test(`forward matches the float64 reference: ${name}`, () => {
    const lm = randomModel(tinyConfig(over), 7);
    const ref = referenceLogits(lm, tokens);
    const model = Model.fromCheckpoint(toCheckpoint(lm));

    // one batched prefill, all rows
    const all = model.forward(tokens, model.newCache(), { allLogits: true });
    const V = lm.config.vocabSize;
    for (let t = 0; t < tokens.length; t++) assert.ok(maxRelError(all.subarray(t * V, (t + 1) * V), ref[t]!) < 1e-4, `prefill row ${t}`);

    // prefill of a prefix, then single-token decode steps
    const cache = model.newCache();
    model.forward(tokens.slice(0, 6), cache);
    for (let t = 6; t < tokens.length; t++) {
      const logits = model.forward([tokens[t]!], cache);
      assert.ok(maxRelError(logits, ref[t]!) < 1e-4, `decode step ${t}`);
    }
    assert.equal(cache.seen, tokens.length);
  });
}

test('forward rejects a context overflow and out-of-vocabulary ids with clear errors', () => {
  const lm = randomModel(tinyConfig({ maxSeqLen: 8 }), 3);
  const model = Model.fromCheckpoint(toCheckpoint(lm));
  assert.throws(() => model.forward(new Array(9).fill(1), model.newCache()), /context overflow/);
  assert.throws(() => model.forward([1, 99], model.newCache()), /outside vocabulary/);
});
