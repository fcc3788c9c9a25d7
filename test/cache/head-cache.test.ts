import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadCache } from '../../src/cache/head-cache.js';
import { KVCache } from '../../src/cache/kv-cache.js';
import { attendLayer } from '../../src/kernels/attention.js';

function filled(T: number, d: number, track = false): HeadCache {
  const h = new HeadCache(d, 2, track);
  for (let t = 0; t < T; t++) {
    const k = Float32Array.from({ length: d }, (_, i) => t * 100 + i);
    const v = Float32Array.from({ length: d }, (_, i) => -(t * 100 + i));
    h.append(k, 0, v, 0, t + 5);
  }
  return h;
}

test('HeadCache grows, compacts in place without reallocating, and rejects bad index lists', () => {
  const h = filled(9, 3, true);
  h.attentionSums!.set([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const keysBuf = h.keys;
  h.keep(Int32Array.from([1, 4, 8]));
  assert.equal(h.keys, keysBuf, 'same buffer');
  assert.equal(h.length, 3);
  assert.deepEqual([...h.positions.subarray(0, 3)], [6, 9, 13]);
  assert.deepEqual([...h.keys.subarray(0, 9)], [100, 101, 102, 400, 401, 402, 800, 801, 802]);
  assert.deepEqual([...h.values.subarray(3, 6)], [-400, -401, -402]);
  assert.deepEqual([...h.attentionSums!.subarray(0, 3)], [1, 4, 8], 'accumulator follows compaction');
  for (const bad of [[2, 1], [0, 0], [3], [-1]]) assert.throws(() => h.keep(Int32Array.from(bad)), RangeError);
});

test('bytes are exact per head, per layer and in total; fullBytes is what the uncompressed cache costs; clone is independent', () => {
  const c = new KVCache({ nLayers: 2, nKvHeads: 3, headDim: 4 });
  for (const hs of c.heads) for (const h of hs) for (let t = 0; t < 10; t++) h.append(new Float32Array(4), 0, new Float32Array(4), 0, t);
  c.seen = 10;
  const per = 2 * 4 * 4 + 4;
  assert.equal(c.bytes(), 2 * 3 * 10 * per);
  assert.equal(c.fullBytes(), c.bytes());
  c.heads[0]![1]!.keep(Int32Array.from([0, 5]));
  c.heads[1]![2]!.keep(Int32Array.from([9]));
  assert.equal(c.heads[0]![1]!.bytes(), 2 * per);
  assert.equal(c.bytes(0), (10 + 2 + 10) * per);
  assert.equal(c.bytes(), (10 + 2 + 10 + 10 + 10 + 1) * per);
  assert.equal(c.fullBytes(), 2 * 3 * 10 * per);
  c.tokens.push(1, 2, 3);
  const k = c.clone();
  k.heads[0]![0]!.keep(Int32Array.from([0]));
  k.tokens.push(4);
  assert.equal(c.heads[0]![0]!.length, 10);
  assert.deepEqual(c.tokens, [1, 2, 3]);
  assert.equal(k.seen, 10);
  assert.equal(k.bytes(), c.bytes() - 9 * per);
});

/** Float64 oracle: causal attention of one query over the given (position, key, value) entries. */
function naiveAttend(q: number[], entries: { p: number; k: number[]; v: number[] }[], pos: number): { out: number[]; w: number[] } {
  const d = q.length;
  const s = entries.map((e) => (e.p <= pos ? e.k.reduce((a, x, i) => a + x * q[i]!, 0) / Math.sqrt(d) : -Infinity));
  const m = Math.max(...s);
  const ex = s.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
  const z = ex.reduce((a, b) => a + b, 0);
  const w = ex.map((x) => x / z);
  return { out: Array.from({ length: d }, (_, i) => entries.reduce((a, e, j) => a + w[j]! * e.v[i]!, 0)), w };
}

test('attention over a ragged layer (heads of different lengths and positions) matches the float64 oracle, accumulators included', () => {
  const d = 4;
  const g = 2;
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const heads = [filled(0, d, true), filled(0, d, true)];
  const entries: { p: number; k: number[]; v: number[] }[][] = [[], []];
  for (let t = 0; t < 12; t++)
    heads.forEach((h, i) => {
      const k = Array.from({ length: d }, rnd);
      const v = Array.from({ length: d }, rnd);
      h.append(Float32Array.from(k), 0, Float32Array.from(v), 0, t);
      entries[i]!.push({ p: t, k, v });
    });
  const keepIdx = [
    [0, 3, 4, 9, 11],
    [1, 2, 5, 6, 7, 8, 10],
  ];
  heads.forEach((h, i) => {
    h.keep(Int32Array.from(keepIdx[i]!));
    entries[i] = keepIdx[i]!.map((j) => entries[i]![j]!);
    h.attentionSums!.fill(0);
  });
  const n = 2;
  const q = Float32Array.from({ length: n * 2 * g * d }, rnd);
  const out = new Float32Array(q.length);
  attendLayer(out, q, n, heads, 10, g, undefined);
  const acc = [new Array<number>(5).fill(0), new Array<number>(7).fill(0)];
  for (let t = 0; t < n; t++)
    for (let qh = 0; qh < 2 * g; qh++) {
      const kv = Math.floor(qh / g);
      const o = (t * 2 * g + qh) * d;
      const { out: want, w } = naiveAttend([...q.subarray(o, o + d)], entries[kv]!, 10 + t);
      for (let i = 0; i < d; i++) assert.ok(Math.abs(out[o + i]! - want[i]!) < 1e-5);
      w.forEach((x, j) => (acc[kv]![j]! += x / g));
    }
  heads.forEach((h, i) => acc[i]!.forEach((x, j) => assert.ok(Math.abs(h.attentionSums![j]! - x) < 1e-5)));
});
