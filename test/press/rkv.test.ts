import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadCache } from '../../src/cache/head-cache.js';
import { Session } from '../../src/generate/session.js';
import { createPress } from '../../src/press/registry.js';
import { rkvDecoding, rkvDefaults, rkvScores, type ObservedQueries, type RKVOptions } from '../../src/press/rkv.js';
import { randomIds, rng, syntheticLayer, tinyModel, viewOf } from './fixtures.js';
import { tinyConfig } from '../helpers/random-model.js';

/** Naive R-KV scores in float64, straight from the specification (methods.md §20). */
function naiveRKV(keys: number[][], first: number, obsRows: number[][], kvHead: number, g: number, o: RKVOptions): number[] {
  const d = keys[0]!.length;
  const T = keys.length;
  const w = Math.min(o.window, T - first);
  const past = T - w;
  const imp = new Array<number>(past).fill(0);
  for (const q of obsRows) {
    const logit = keys.slice(0, past).map((k) => Math.max(...Array.from({ length: g }, (_, i) => k.reduce((a, x, e) => a + x * q[(kvHead * g + i) * d + e]!, 0) / Math.sqrt(d))));
    const m = Math.max(...logit);
    const z = logit.reduce((a, x) => a + Math.exp(x - m), 0);
    logit.forEach((x, j) => (imp[j]! += Math.exp(x - m) / z / obsRows.length));
  }
  const r = Math.floor(o.kernel / 2);
  const pooled = imp.map((_, j) => Math.max(...imp.slice(Math.max(0, j - r), j - r + o.kernel)));
  const gen = keys.slice(first).map((k) => {
    const n = Math.hypot(...k) + 1e-8;
    return k.map((x) => x / n);
  });
  const G = gen.length;
  const S = gen.map((a, i) => gen.map((b, j) => (i === j ? 0 : a.reduce((s, x, e) => s + x * b[e]!, 0))));
  S.forEach((row, i) => {
    const dup = row.map((s, j) => (s > o.threshold || j === i ? j : -1));
    row[Math.max(...dup)] = 0;
  });
  const mean = Array.from({ length: G }, (_, j) => S.reduce((a, row) => a + row[j]!, 0) / G);
  const m = Math.max(...mean);
  const z = mean.reduce((a, x) => a + Math.exp(x - m), 0);
  return Array.from({ length: G - w }, (_, i) => o.lambda * pooled[first + i]! - ((1 - o.lambda) * Math.exp(mean[i]! - m)) / z);
}

test('R-KV scores equal the naive float64 implementation (GQA, near-duplicates present, odd sizes)', () => {
  for (const [T, first, seed] of [
    [40, 12, 1],
    [29, 0, 2],
    [33, 20, 3],
  ] as const) {
    const s = syntheticLayer({ T, seed, nHeads: 6, nKvHeads: 2, headDim: 4 });
    const d = 4;
    const r = rng(seed + 10);
    const obs: ObservedQueries = { rows: [], positions: [] };
    for (let i = 0; i < 5; i++) {
      obs.rows.push(Float32Array.from({ length: 6 * d }, () => r() * 2 - 1));
      obs.positions.push(T - 5 + i);
    }
    const o = { ...rkvDefaults, window: 5, kernel: 3, threshold: 0.3 };
    for (let h = 0; h < 2; h++) {
      const k = s.view.keys(h);
      const keys = Array.from({ length: T }, (_, j) => Array.from(k.subarray(j * d, (j + 1) * d)));
      const want = naiveRKV(keys, first, obs.rows.map((q) => Array.from(q)), h, 3, o);
      const got = rkvScores(s.view, h, first, obs, o);
      assert.equal(got.length, want.length);
      want.forEach((w, j) => assert.ok(Math.abs(got[j]! - w) < 1e-6, `T=${T} head ${h} candidate ${j}: ${got[j]} vs ${w}`));
    }
  }
});

test('R-KV: of two identical generated spans it keeps the newer one and drops the older', () => {
  const config = tinyConfig({ nHeads: 2, nKvHeads: 1, headDim: 32, maxSeqLen: 4096 });
  const prompt = 10;
  const G = 20;
  const spanA = [3, 4, 5];
  const spanB = [11, 12, 13];
  // Generated keys are distinct basis vectors except the two spans, which repeat the same three.
  const basis = (i: number) => Float32Array.from({ length: 32 }, (_, e) => (e === i ? 1 : 0));
  const head = new HeadCache(32, 4);
  const r = rng(3);
  for (let t = 0; t < prompt; t++) head.append(Float32Array.from({ length: 32 }, () => r() - 0.5), 0, new Float32Array(32), 0, t);
  for (let i = 0; i < G; i++) {
    const b = spanB.indexOf(i) >= 0 ? spanA[spanB.indexOf(i)]! : i;
    head.append(basis(b), 0, new Float32Array(32), 0, prompt + i);
  }
  const T = prompt + G;
  // Zero queries: every entry gets the same importance, so redundancy alone decides.
  const view = viewOf(config, [head], new Float32Array(T * 2 * 32), T);
  const press = rkvDecoding({ ...rkvDefaults, budget: G - 3, buffer: 3, window: 2, promptEnd: prompt, decodeRatio: 0.5 });
  const keep = [...press.compress(view, { ratio: 0.5 })![0]!];
  const want = Array.from({ length: T }, (_, j) => j).filter((j) => !spanA.includes(j - prompt));
  assert.deepEqual(keep, want);
});

test('R-KV while decoding: the prompt is untouched, generated entries are cut to the budget each time budget + buffer pile up', () => {
  const { model, tokenizer } = tinyModel({ maxSeqLen: 96 });
  const ids = randomIds(20, model.config.vocabSize, 5);
  for (const [budget, decodeRatio] of [
    [6, 0.5],
    [0, 0.5],
  ] as const) {
    const s = new Session(model, tokenizer, { compression: { decodePress: createPress('rkv', { budget, buffer: 4, window: 2 }), decodeRatio } });
    s.prefill(ids);
    let sawCut = false;
    for (let step = 1; step <= 30; step++) {
      s.step(3 + (step % 7));
      const B = budget > 0 ? budget : Math.max(2, Math.floor((1 - decodeRatio) * step));
      for (const hs of s.cache.heads)
        for (const h of hs) {
          const pos = [...h.positions.subarray(0, h.length)];
          assert.deepEqual(pos.slice(0, 20), Array.from({ length: 20 }, (_, i) => i), 'prompt entries kept');
          const gen = h.length - 20;
          assert.ok(gen < B + 4, `step ${step}: ${gen} generated entries, budget ${B}`);
          assert.ok(pos.includes(20 + step - 1) && pos.includes(20 + step - 2), 'the window (newest entries) is kept');
          if (gen === B && step > B) sawCut = true;
        }
    }
    assert.ok(sawCut, 'a compression happened');
  }
});

test('R-KV leaves the prefill alone and checks its parameters', () => {
  const s = syntheticLayer({ T: 20 });
  assert.equal(createPress('rkv').compress(s.view, { ratio: 0.5 }), null);
  assert.throws(() => createPress('rkv', { budget: 8, window: 8 }), /budget 8 must exceed the observation window 8/);
  assert.throws(() => createPress('rkv', { threshold: 2 }), /threshold must be a cosine/);
});
