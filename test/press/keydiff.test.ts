import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { keepCount } from '../../src/press/budget.js';
import { keydiffScorer } from '../../src/press/keydiff.js';
import { createPress } from '../../src/press/registry.js';
import { naiveTopK, randomIds, rng, syntheticLayer, tinyModel, viewOf } from './fixtures.js';

/** Naive KeyDiff in float64: anchor = mean of the unit keys, score = −cos(k, anchor). */
function naiveKeyDiff(keys: Float32Array, T: number, d: number): number[] {
  const unit = Array.from({ length: T }, (_, j) => {
    const k = Array.from(keys.subarray(j * d, (j + 1) * d));
    const n = Math.hypot(...k);
    return k.map((x) => x / n);
  });
  const anchor = Array.from({ length: d }, (_, i) => unit.reduce((a, u) => a + u[i]!, 0) / T);
  const an = Math.hypot(...anchor);
  return unit.map((u) => -u.reduce((a, x, i) => a + x * anchor[i]!, 0) / an);
}

test('KeyDiff scores and keeps what the naive float64 implementation does (GQA, odd sizes)', () => {
  for (const [T, ratio, seed] of [
    [41, 0.5, 1],
    [23, 0.3, 2],
    [37, 0.8, 3],
  ] as const) {
    const s = syntheticLayer({ T, seed, nHeads: 6, nKvHeads: 3, headDim: 5 });
    const keep = createPress('keydiff').compress(s.view, { ratio })!;
    for (let h = 0; h < 3; h++) {
      const want = naiveKeyDiff(s.view.keys(h), T, 5);
      const got = keydiffScorer.score(s.view, h);
      want.forEach((w, j) => assert.ok(Math.abs(got[j]! - w) < 1e-6, `T=${T} head ${h} entry ${j}: ${got[j]} vs ${w}`));
      assert.deepEqual([...keep[h]!], naiveTopK(want, keepCount(T, { ratio })), `T=${T} head ${h}`);
    }
  }
});

test('KeyDiff: one outlier key among keys sharing a direction survives a 90 % compression', () => {
  const s = syntheticLayer({ T: 40, seed: 4 });
  const d = s.config.headDim;
  const r = rng(11);
  const outlier = 17;
  for (const head of s.heads)
    for (let j = 0; j < s.T; j++)
      // Every key near (1, 1, …) except the outlier, which points along −(1, 1, …) plus noise.
      for (let i = 0; i < d; i++) head.keys[j * d + i] = (j === outlier ? -1 : 1) + (r() - 0.5) * 0.6;
  const keep = createPress('keydiff').compress(viewOf(s.config, s.heads, s.queries, s.T), { ratio: 0.9 })!;
  for (const k of keep) {
    assert.equal(k.length, keepCount(40, { ratio: 0.9 }));
    assert.ok(k.includes(outlier));
  }
});

test('KeyDiff through a session: every head keeps exactly n_keep; ratio 0 is bit-identical to no press', () => {
  const { model, tokenizer } = tinyModel();
  const ids = randomIds(37, model.config.vocabSize);
  for (const ratio of [0.3, 0.7]) {
    const s = new Session(model, tokenizer, { compression: { press: 'keydiff', ratio } });
    s.prefill(ids);
    for (const hs of s.cache.heads) for (const h of hs) assert.equal(h.length, keepCount(37, { ratio }));
  }
  const plain = new Session(model, tokenizer).prefill(ids);
  assert.deepEqual(new Session(model, tokenizer, { compression: { press: 'keydiff', ratio: 0 } }).prefill(ids), plain);
});
