import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { createPress, pressRegistry } from '../../src/press/registry.js';
import { randomIds, syntheticLayer, tinyModel } from './fixtures.js';

const { model, tokenizer } = tinyModel();
const ids = randomIds(41, model.config.vocabSize);

function run(opts: Parameters<Session['prefill']>[1]): { prefill: Float32Array; steps: Float32Array[] } {
  const s = new Session(model, tokenizer);
  const prefill = s.prefill(ids, opts);
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
    const s = syntheticLayer({ T: 19, trackAttention: true });
    assert.equal(createPress(e.name).compress(s.view, { ratio: 0 }), null, e.name);
  }
});

test('bad budgets and names fail with clear errors', () => {
  const s = new Session(model, tokenizer);
  assert.throws(() => s.prefill(ids, { press: 'snapkv', ratio: 1 }), /ratio 1 must be in \[0, 1\)/);
  assert.throws(() => s.prefill(ids, { press: 'snapkv', ratio: -0.1 }), /ratio -0.1/);
  assert.throws(() => s.prefill(ids, { ratio: 0.5 }), /needs a press/);
  assert.throws(() => s.prefill(ids, { press: 'nope', ratio: 0.5 }), /unknown press 'nope'/);
  assert.throws(() => createPress('snapkv', { window: 0 }), /window must be a positive integer/);
  assert.throws(() => createPress('snapkv', { pooling: 'median' }), /pooling must be one of max, avg/);
  assert.throws(() => createPress('snapkv', { windw: 3 }), /no parameter 'windw'/);
  assert.throws(() => createPress('adakv', { inner: 'streamingllm' }), /no scores to allocate/);
  assert.equal(s.cache.seen, 0, 'nothing ran');
});
