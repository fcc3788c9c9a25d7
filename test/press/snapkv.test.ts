import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepCount } from '../../src/press/budget.js';
import { createPress } from '../../src/press/registry.js';
import { naiveTopK, naiveWindowAttention, syntheticLayer, viewOf } from './fixtures.js';

/** Naive SnapKV (methods.md §3) in float64: mean over window rows, pool, top (n_keep − W) + window. */
function naiveSnapKV(s: ReturnType<typeof syntheticLayer>, h: number, ratio: number, W: number, K: number, pooling: 'max' | 'avg'): number[] {
  const T = s.T;
  const a = naiveWindowAttention(s, T, h, W);
  const col = Array.from({ length: T - W }, (_, j) => a.reduce((acc, row) => acc + row[j]!, 0) / W);
  const r = Math.floor(K / 2);
  const pooled = col.map((_, j) => {
    const win: number[] = [];
    for (let i = j - r; i < j - r + K; i++) win.push(i >= 0 && i < col.length ? col[i]! : pooling === 'max' ? -Infinity : 0);
    return pooling === 'max' ? Math.max(...win) : win.reduce((x, y) => x + y, 0) / K;
  });
  const nKeep = Math.max(1, Math.floor(T * (1 - ratio) + 1e-9));
  const windowKept = Math.min(W, nKeep);
  const forced = new Set(Array.from({ length: windowKept }, (_, i) => T - windowKept + i));
  return naiveTopK([...pooled, ...new Array<number>(W).fill(-Infinity)], nKeep, forced);
}

test('SnapKV keeps what the naive implementation keeps (max and avg pooling, GQA, odd sizes)', () => {
  for (const [T, W, K, pooling, ratio, seed] of [
    [41, 8, 7, 'max', 0.5, 1],
    [37, 5, 5, 'avg', 0.7, 2],
    [29, 4, 3, 'max', 0.3, 3],
    [33, 32, 7, 'max', 0.5, 4],
  ] as const) {
    const s = syntheticLayer({ T, seed });
    const keep = createPress('snapkv', { window: W, kernel: K, pooling }).compress(s.view, { ratio })!;
    for (let h = 0; h < 2; h++) assert.deepEqual([...keep[h]!], naiveSnapKV(s, h, ratio, W, K, pooling), `T=${T} W=${W} ${pooling} head ${h}`);
  }
});

test('SnapKV: one key every window query attends to survives a 75 % compression; the window is kept', () => {
  const s = syntheticLayer({ T: 50, seed: 9, scale: 0.3 });
  const d = s.config.headDim;
  const star = 13;
  for (const head of s.heads) for (let i = 0; i < d; i++) head.keys[star * d + i] = i % 2 ? 2 : -2;
  for (let t = 0; t < s.T; t++) for (let q = 0; q < s.config.nHeads; q++) for (let i = 0; i < d; i++) s.queries[(t * s.config.nHeads + q) * d + i] = i % 2 ? 3 : -3;
  const keep = createPress('snapkv', { window: 4 }).compress(viewOf(s.config, s.heads, s.queries, s.T), { ratio: 0.75 })!;
  for (const k of keep) {
    assert.equal(k.length, keepCount(50, { ratio: 0.75 }));
    assert.ok(k.includes(star));
    for (let t = 46; t < 50; t++) assert.ok(k.includes(t), 'window entry kept');
  }
});

test('SnapKV with a budget below the window keeps the most recent n_keep window entries', () => {
  const s = syntheticLayer({ T: 20, seed: 5 });
  const keep = createPress('snapkv', { window: 8 }).compress(s.view, { ratio: 0.9 })!;
  for (const k of keep) assert.deepEqual([...k], [18, 19]);
});
