import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import type { CompressionOptions } from '../../src/press/compression.js';
import { createPress, pressRegistry } from '../../src/press/registry.js';
import { randomIds, syntheticLayer, tinyModel } from './fixtures.js';

const { model, tokenizer } = tinyModel();
const ids = randomIds(41, model.config.vocabSize);

function run(compression: CompressionOptions): { prefill: Float32Array; steps: Float32Array[] } {
  const s = new Session(model, tokenizer, { compression });
  const prefill = s.prefill(ids);
  const steps = [5, 9, 11].map((t) => s.step(t));
  return { prefill, steps };
}

test('ratio 0 gives logits bit-identical to no press, for every registered method (prefill and decoding)', () => {
  const base = run({});
  for (const e of pressRegistry) {
    const got = run({ press: e.name, ratio: 0, decodePress: e.name, decodeRatio: 0 });
    assert.deepEqual(got.prefill, base.prefill, e.name);
    assert.deepEqual(got.steps, base.steps, e.name);
  }
});

test('the no-op press leaves logits bit-identical at any ratio', () => {
  const base = run({});
  const got = run({ press: 'none', ratio: 0.7, decodePress: 'none', decodeRatio: 0.5 });
  assert.deepEqual(got.prefill, base.prefill);
  assert.deepEqual(got.steps, base.steps);
});

test('a scoring press asked for ratio 0 returns null (cache untouched, no copy)', () => {
  for (const e of pressRegistry) {
    const s = syntheticLayer({ T: 19, trackAttentionSums: true });
    assert.equal(createPress(e.name).compress(s.view, { ratio: 0 }), null, e.name);
  }
});

test('bad budgets and names fail with clear errors', () => {
  const session = (compression: CompressionOptions) => new Session(model, tokenizer, { compression });
  assert.throws(() => session({ press: 'snapkv', ratio: 1 }), /ratio 1 must be in \[0, 1\)/);
  assert.throws(() => session({ press: 'snapkv', ratio: -0.1 }), /ratio -0.1/);
  assert.throws(() => session({ ratio: 0.5 }), /needs a press/);
  assert.throws(() => session({ press: 'nope', ratio: 0.5 }), /unknown press 'nope'/);
  assert.throws(() => session({ decodePress: 'h2o', decodeRatio: 0.5, decodeInterval: 0 }), /decodeInterval 0 must be a positive integer/);
  const s = new Session(model, tokenizer);
  assert.throws(() => createPress('snapkv', { window: 0 }), /window must be a positive integer/);
  assert.throws(() => createPress('snapkv', { pooling: 'median' }), /pooling must be one of max, avg/);
  assert.throws(() => createPress('snapkv', { windw: 3 }), /no parameter 'windw'/);
  assert.throws(() => createPress('adakv', { inner: 'streamingllm' }), /no scores to allocate/);
  assert.equal(s.cache.seen, 0, 'nothing ran');
});
