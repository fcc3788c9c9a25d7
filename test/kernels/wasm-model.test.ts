import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';
import { maxRelError, referenceLogits } from '../helpers/reference-forward.js';
import { oneAndTwoThreads, sameBits } from '../helpers/wasm-kernels.js';

const wasm = oneAndTwoThreads();

const variants: [string, Partial<ModelConfig>][] = [
  ['GQA, tied', {}],
  ['MHA, untied, qkv bias', { nKvHeads: 4, tiedEmbeddings: false, qkvBias: true }],
  ['sliding window, interleaved rope', { slidingWindow: 5, ropeLayout: 'interleaved' }],
  ['head dim 16, wider', { dim: 64, hiddenDim: 96, nHeads: 4, nKvHeads: 1, headDim: 16 }],
];
const tokens = [1, 5, 9, 30, 2, 17, 17, 3, 36, 8, 11, 0, 22, 4];

for (const [name, over] of variants) {
  test(`model on the wasm backend matches the float64 reference (${name}); threads 1 and 2 agree bit for bit`, () => {
    const lm = randomModel(tinyConfig(over), 11);
    const ref = referenceLogits(lm, tokens);
    const V = lm.config.vocabSize;
    const m1 = Model.fromCheckpoint(toCheckpoint(lm), { backend: wasm.one });
    const m2 = Model.fromCheckpoint(toCheckpoint(lm), { backend: wasm.two });
    const all1 = m1.forward(tokens, m1.newCache(), { allLogits: true });
    const all2 = m2.forward(tokens, m2.newCache(), { allLogits: true });
    assert.ok(sameBits(all1, all2));
    for (let t = 0; t < tokens.length; t++) assert.ok(maxRelError(all1.subarray(t * V, (t + 1) * V), ref[t]!) < 1e-4, `prefill row ${t}`);
    const cache = m1.newCache();
    m1.forward(tokens.slice(0, 6), cache);
    for (let t = 6; t < tokens.length; t++) assert.ok(maxRelError(m1.forward([tokens[t]!], cache), ref[t]!) < 1e-4, `decode step ${t}`);
  });
}
