import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attendLayer } from '../../src/kernels/attention.js';
import { adaptiveAllocation } from '../../src/press/adaptive-allocation.js';
import { keepCount } from '../../src/press/budget.js';
import { scorerPress } from '../../src/press/scorer-press.js';
import { snapkvDefaults, snapkvScorer } from '../../src/press/snapkv.js';
import { createPress } from '../../src/press/registry.js';
import { maxAbsDiff, naiveTopK, naiveWindowAttention, syntheticLayer, viewOf } from './fixtures.js';

/** A synthetic layer whose heads hold accumulated attention from a real (tracking) attention pass over all T rows. */
function trackedLayer(T: number, seed: number) {
  const s = syntheticLayer({ T, seed, trackAttentionSums: true });
  const g = s.config.nHeads / s.config.nKvHeads;
  // Re-run attention with tracking on the same cache: every row over all earlier keys.
  attendLayer(new Float32Array(s.queries.length), s.queries, T, s.heads, 0, g, undefined);
  return s;
}

test('H2O: accumulated attention equals the naive column sums (group mean) and the keep set matches heavy + recent', () => {
  const s = trackedLayer(33, 11);
  const ratio = 0.6;
  const keep = createPress('h2o').compress(viewOf(s.config, s.heads, s.queries, s.T), { ratio })!;
  for (let h = 0; h < 2; h++) {
    const cols = naiveWindowAttention(s, s.T, h, s.T).reduce((acc, row) => acc.map((x, j) => x + row[j]!), new Array<number>(s.T).fill(0));
    assert.ok(maxAbsDiff(s.heads[h]!.attentionSums!.subarray(0, s.T), cols) < 1e-5);
    const B = keepCount(s.T, { ratio });
    const recent = B - Math.ceil(B / 2);
    const forced = new Set(Array.from({ length: recent }, (_, i) => s.T - recent + i));
    assert.deepEqual([...keep[h]!], naiveTopK(cols, B, forced));
  }
});

test('H2O normalize divides by the rows that could attend', () => {
  const s = trackedLayer(25, 12);
  const keep = createPress('h2o', { normalize: true }).compress(viewOf(s.config, s.heads, s.queries, s.T), { ratio: 0.5 })!;
  const cols = naiveWindowAttention(s, s.T, 0, s.T).reduce((acc, row) => acc.map((x, j) => x + row[j]!), new Array<number>(s.T).fill(0));
  const B = keepCount(25, { ratio: 0.5 });
  const recent = B - Math.ceil(B / 2);
  const forced = new Set(Array.from({ length: recent }, (_, i) => 25 - recent + i));
  assert.deepEqual([...keep[0]!], naiveTopK(cols.map((c, j) => c / (25 - j)), B, forced));
});

test('H2O without attention tracking fails clearly', () => {
  const s = syntheticLayer({ T: 10 });
  assert.throws(() => createPress('h2o').compress(s.view, { ratio: 0.5 }), /does not track attention/);
});

test('TOVA: last-row attention averaged over all query heads, one shared index set', () => {
  const s = syntheticLayer({ T: 29, seed: 13 });
  const keep = createPress('tova').compress(s.view, { ratio: 0.55 })!;
  const rows = [0, 1].map((h) => naiveWindowAttention(s, s.T, h, 1)[0]!);
  const mean = rows[0]!.map((x, j) => (x + rows[1]![j]!) / 2);
  const want = naiveTopK(mean, keepCount(29, { ratio: 0.55 }));
  for (const k of keep) assert.deepEqual([...k], want);
  const last = createPress('tova', { keepLast: true }).compress(s.view, { ratio: 0.9 })!;
  for (const k of last) assert.ok(k.includes(28));
});

test('one key every query attends to survives H2O, TOVA, SnapKV, PyramidKV and AdaKV at 80 % compression', () => {
  const T = 40;
  const s = syntheticLayer({ T, seed: 14, scale: 0.3, trackAttentionSums: true });
  const d = s.config.headDim;
  const star = 17;
  for (const head of s.heads) for (let i = 0; i < d; i++) head.keys[star * d + i] = i % 2 ? 2 : -2;
  for (let t = 0; t < T; t++) for (let q = 0; q < s.config.nHeads; q++) for (let i = 0; i < d; i++) s.queries[(t * s.config.nHeads + q) * d + i] = i % 2 ? 3 : -3;
  attendLayer(new Float32Array(s.queries.length), s.queries, T, s.heads, 0, 2, undefined);
  const presses = [
    createPress('h2o'),
    createPress('tova'),
    createPress('snapkv', { window: 4 }),
    createPress('pyramidkv', { window: 4 }),
    // Kernel 1: max pooling would tie the star's neighbours across heads and let one head take them all.
    scorerPress('adakv', snapkvScorer({ ...snapkvDefaults, window: 4, kernel: 1 }), { allocation: adaptiveAllocation(0.2) }),
  ];
  for (const p of presses) for (const k of p.compress(viewOf(s.config, s.heads, s.queries, T), { ratio: 0.8 })!) assert.ok(k.includes(star), p.name);
});
