import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepCount } from '../../src/press/budget.js';
import { counterUniform } from '../../src/press/counter-random.js';
import { createPress } from '../../src/press/registry.js';
import { naiveTopK, syntheticLayer } from './fixtures.js';

test('StreamingLLM keeps exactly [0, S) ∪ [T − n_keep + S, T), and only the first n_keep sinks when n_keep ≤ S', () => {
  for (const [T, ratio, S] of [
    [41, 0.5, 4],
    [37, 0.8, 2],
    [23, 0.9, 4],
    [30, 0.95, 4],
  ] as const) {
    const s = syntheticLayer({ T });
    const keep = createPress('streamingllm', { sinks: S }).compress(s.view, { ratio })!;
    const n = keepCount(T, { ratio });
    const want = n <= S ? [...Array(n).keys()] : [...[...Array(S).keys()], ...Array.from({ length: n - S }, (_, i) => T - n + S + i)];
    for (const k of keep) assert.deepEqual([...k], want, `T=${T} ratio=${ratio}`);
  }
});

test('Knorm keeps the n_keep smallest-norm keys (naive float64 norms; increasing norms keep the first ones)', () => {
  const s = syntheticLayer({ T: 31, seed: 6 });
  const d = s.config.headDim;
  const keep = createPress('knorm').compress(s.view, { ratio: 0.6 })!;
  for (let h = 0; h < 2; h++) {
    const k = s.heads[h]!.keys;
    const negNorms = Array.from({ length: 31 }, (_, j) => -Math.hypot(...k.subarray(j * d, (j + 1) * d)));
    assert.deepEqual([...keep[h]!], naiveTopK(negNorms, keepCount(31, { ratio: 0.6 })));
  }
  const inc = syntheticLayer({ T: 15, seed: 7 });
  for (const head of inc.heads) for (let j = 0; j < 15; j++) for (let i = 0; i < d; i++) head.keys[j * d + i] = (j + 1) * (i % 2 ? 1 : -1);
  for (const k of createPress('knorm').compress(inc.view, { ratio: 0.4 })!) assert.deepEqual([...k], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('Random: exact count, deterministic per (seed, layer, head, position), independent across heads, roughly uniform', () => {
  const s = syntheticLayer({ T: 40, seed: 2, nKvHeads: 4, nHeads: 4 });
  const a = createPress('random', { seed: 5 }).compress(s.view, { ratio: 0.5 })!;
  const b = createPress('random', { seed: 5 }).compress(s.view, { ratio: 0.5 })!;
  const c = createPress('random', { seed: 6 }).compress(s.view, { ratio: 0.5 })!;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual([...a[0]!], [...a[1]!]);
  for (const k of a) assert.equal(k.length, 20);
  let sum = 0;
  const N = 20000;
  for (let i = 0; i < N; i++) sum += counterUniform(1, 2, 3, i);
  assert.ok(Math.abs(sum / N - 0.5) < 0.01, `mean ${sum / N}`);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < N; i++) buckets[Math.floor(counterUniform(9, i, 0, 1) * 10)]!++;
  for (const x of buckets) assert.ok(Math.abs(x - N / 10) < N / 50, `bucket ${x}`);
});
