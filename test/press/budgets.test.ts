import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { keepCount } from '../../src/press/budget.js';
import { pyramidBudgets } from '../../src/press/pyramid-schedule.js';
import { randomIds, tinyModel } from './fixtures.js';

const models = [
  ['GQA 4/2', tinyModel({ nHeads: 4, nKvHeads: 2 })],
  ['MHA 3/3', tinyModel({ nHeads: 3, nKvHeads: 3, headDim: 8 })],
] as const;

test('after prefill every head and layer holds exactly what the budget says (every established method, odd sizes, GQA and MHA)', () => {
  for (const [label, { model, tokenizer }] of models) {
    const { nLayers, nKvHeads } = model.config;
    for (const T of [37, 23])
      for (const ratio of [0.3, 0.5, 0.9]) {
        const ids = randomIds(T, model.config.vocabSize, T);
        const C = keepCount(T, { ratio });
        for (const name of ['random', 'knorm', 'streamingllm', 'h2o', 'snapkv', 'pyramidkv', 'tova', 'expected-attention', 'adakv']) {
          const s = new Session(model, tokenizer, { compression: { press: name, ratio } });
          s.prefill(ids);
          const lengths = s.cache.heads.map((hs) => hs.map((h) => h.length));
          const at = `${label} ${name} T=${T} ratio=${ratio}: ${JSON.stringify(lengths)}`;
          if (name === 'pyramidkv') {
            const want = pyramidBudgets(nLayers, T, C, 32, 20);
            lengths.forEach((ls, l) => ls.forEach((n) => assert.equal(n, want[l], at)));
            assert.equal(s.cache.entries(), nLayers * nKvHeads * C, at);
          } else if (name === 'adakv') {
            for (const ls of lengths) assert.equal(ls.reduce((a, b) => a + b, 0), nKvHeads * C, at);
          } else if (name === 'expected-attention' && C < 4) {
            // The 4 sinks are protected: the budget overflows to them, never below (methods.md §0.3).
            for (const ls of lengths) for (const n of ls) assert.equal(n, 4, at);
          } else {
            for (const ls of lengths) for (const n of ls) assert.equal(n, C, at);
          }
          assert.equal(s.cache.seen, T);
          assert.ok(s.cache.bytes() < s.cache.fullBytes());
        }
      }
  }
});
