import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adaptiveAllocation } from '../../src/press/adaptive-allocation.js';
import { keepCount } from '../../src/press/budget.js';
import { pyramidBudgets } from '../../src/press/pyramid-schedule.js';
import { lastEntries, selectKeep } from '../../src/press/select-keep.js';

test('selectKeep: top scores, ties by lower index, protected inside the budget, sorted output, overflow keeps all protected', () => {
  assert.deepEqual([...selectKeep([3, 1, 3, 2, 5], 3)], [0, 2, 4]);
  assert.deepEqual([...selectKeep([1, 1, 1, 1], 2)], [0, 1]);
  assert.deepEqual([...selectKeep([9, 8, 7, 0, 0], 3, lastEntries(5, 2))], [0, 3, 4]);
  assert.deepEqual([...selectKeep([9, 8, 7, 0, 0], 1, lastEntries(5, 2))], [3, 4], 'protected set larger than the budget is kept whole');
  assert.deepEqual([...selectKeep([NaN, 1, -Infinity], 2)], [1, 2], 'NaN ranks last');
  assert.deepEqual([...selectKeep([1, 2], 5)], [0, 1]);
});

test('keepCount: max(1, floor(T(1 − ratio))) or a token count, clamped to T', () => {
  assert.equal(keepCount(41, { ratio: 0.5 }), 20);
  assert.equal(keepCount(20, { ratio: 0.9 }), 2);
  assert.equal(keepCount(3, { ratio: 0.9 }), 1);
  assert.equal(keepCount(10, { ratio: 0 }), 10);
  assert.equal(keepCount(10, { tokens: 4 }), 4);
  assert.equal(keepCount(3, { tokens: 4 }), 3);
});

test('PyramidKV budgets: exact total L·C, non-increasing with depth, within [min(W, C), T], near the linear schedule', () => {
  for (const [L, T, ratio, W, beta] of [
    [5, 101, 0.5, 8, 20],
    [7, 63, 0.7, 4, 20],
    [3, 40, 0.3, 32, 20],
    [4, 33, 0.9, 8, 20],
    [2, 17, 0.5, 2, 5],
    [1, 30, 0.5, 4, 20],
  ] as const) {
    const C = keepCount(T, { ratio });
    const b = pyramidBudgets(L, T, C, W, beta);
    assert.equal(b.length, L);
    assert.equal(b.reduce((x, y) => x + y, 0), L * C, `total for ${[L, T, ratio, W]}`);
    for (let l = 0; l < L; l++) {
      assert.ok(Number.isInteger(b[l]) && b[l]! >= Math.max(1, Math.min(W, C)) && b[l]! <= T, `bounds ${b}`);
      if (l > 0) assert.ok(b[l]! <= b[l - 1]!, `monotone ${b}`);
    }
    // Naive float schedule (methods.md §4) when nothing clamps.
    const s = C - W;
    if (L > 1 && s > 0) {
      let bMin = s / beta;
      let bMax = 2 * s - bMin;
      if (W + bMax > T) [bMax, bMin] = [T - W, 2 * s - (T - W)];
      for (let l = 0; l < L; l++) assert.ok(Math.abs(b[l]! - (W + bMax - (l * (bMax - bMin)) / (L - 1))) < 1 + 1e-9, `layer ${l}: ${b}`);
    }
  }
});

test('AdaKV allocation: the flat head gets the larger budget, the layer total is exact, the safeguard and protected entries hold', () => {
  const T = 20;
  const peaked = Float32Array.from({ length: T }, (_, j) => (j === 7 ? 0.9 : 0.1 / (T - 1)));
  const flat = Float32Array.from({ length: T }, (_, j) => 1 / T + j * 1e-4);
  const nKeep = [8, 8];
  const keep = adaptiveAllocation(0.25)([peaked, flat], [lastEntries(T, 1), lastEntries(T, 1)], nKeep);
  assert.equal(keep[0]!.length + keep[1]!.length, 16);
  assert.ok(keep[1]!.length > keep[0]!.length, `flat ${keep[1]!.length} vs peaked ${keep[0]!.length}`);
  assert.ok(keep[0]!.includes(7) && keep[0]!.includes(T - 1) && keep[1]!.includes(T - 1));
  assert.ok(keep[0]!.length >= 2, 'safeguard floor(0.25 · 8) = 2');
  // Naive: force protected + per-head safeguard, then global top of the rest.
  const scores = [peaked, flat];
  const forced = scores.map((s) => new Set([T - 1, ...[...s.keys()].filter((j) => j !== T - 1).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, 1)]));
  const rest = scores.flatMap((s, h) => [...s].map((x, j) => ({ x, j, h })).filter((e) => !forced[h]!.has(e.j)));
  rest.sort((a, b) => b.x - a.x || a.j - b.j || a.h - b.h);
  for (const e of rest.slice(0, 16 - 4)) forced[e.h]!.add(e.j);
  assert.deepEqual(keep.map((k) => [...k]), forced.map((f) => [...f].sort((a, b) => a - b)));
});
