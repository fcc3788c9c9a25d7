import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { Compression } from '../../src/press/compression.js';
import type { FastGenPress } from '../../src/press/fastgen.js';
import { createPress } from '../../src/press/registry.js';
import { randomIds, tinyModel } from './fixtures.js';

const { model, tokenizer } = tinyModel();
const lengths = (s: Session) => new Set(s.cache.heads.flatMap((hs) => hs.map((h) => h.length)));

test('the decoding budget is fixed when generation starts: a question prefilled after the context counts in it', () => {
  const s = new Session(model, tokenizer, { compression: { press: 'snapkv', ratio: 0.5, decodePress: 'h2o', decodeRatio: 0.5 } });
  s.prefill(randomIds(30, model.config.vocabSize, 3));
  s.prefill(randomIds(10, model.config.vocabSize, 4), { compress: false });
  assert.deepEqual(lengths(s), new Set([15 + 10]), 'the context compressed, the question appended as is');
  s.step(7);
  assert.deepEqual(lengths(s), new Set([Math.floor(0.5 * 40)]), 'B = floor((1 − r) · 40 positions seen at the first step)');
});

test('a policy knows the attention sums it needs before any forward pass', () => {
  assert.equal(new Compression({ press: 'snapkv', ratio: 0.5 }).needsAttentionSums, false);
  assert.equal(new Compression({ press: 'h2o', ratio: 0.5 }).needsAttentionSums, true);
  assert.equal(new Compression({ press: 'h2o', ratio: 0 }).needsAttentionSums, false, 'a press at ratio 0 never runs');
  assert.equal(new Compression({ decodePress: 'h2o', decodeRatio: 0.5 }).needsAttentionSums, true);
  assert.equal(new Compression({ press: 'fastgen', ratio: 0.5 }).needsAttentionSums, true, "FastGen's frequent heads decode on the sums");
  assert.equal(new Compression({ press: createPress('shotkv', { accumulate: true }), ratio: 0.5, decodeRatio: 0.5 }).needsAttentionSums, true);
  assert.equal(new Compression({ press: 'shotkv', ratio: 0.5, decodeRatio: 0.5 }).needsAttentionSums, false);
  const s = new Session(model, tokenizer, { compression: { decodePress: 'h2o', decodeRatio: 0.5 } });
  assert.ok(s.cache.heads.every((hs) => hs.every((h) => h.attentionSums !== null)), 'the session made its cache track them');
});

test("a stateful press's state covers one prefill: FastGen profiles only the prefill it compressed last", () => {
  const press = createPress('fastgen', { threshold: 0.9 }) as FastGenPress;
  const policy = new Compression({ press, ratio: 0.5 });
  const a = new Session(model, tokenizer, { compression: policy });
  a.prefill(randomIds(40, model.config.vocabSize, 5));
  const first = press.policies();
  assert.equal(first.length, model.config.nLayers);
  // Hooks for a new prefill start a fresh scope: nothing of the first prompt survives into it.
  policy.prefillHooks({ config: model.config, tokens: [] });
  assert.deepEqual(press.policies(), []);
});
