import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { keepCount } from '../../src/press/budget.js';
import { ChunkKVPress, chunkkvDefaults, type ChunkKVOptions } from '../../src/press/chunkkv.js';
import { createPress } from '../../src/press/registry.js';
import { naiveWindowAttention, randomIds, syntheticLayer, tinyModel, viewOf } from './fixtures.js';

type Layer = ReturnType<typeof syntheticLayer>;

/** Naive ChunkKV (methods.md §10) in float64, written from the spec: returns kept indices per KV head. */
function naiveChunkKV(s: Layer, ratio: number, o: ChunkKVOptions): number[][] {
  const T = s.T;
  const H = s.config.nKvHeads;
  const W = Math.min(o.window, T);
  const nKeep = Math.max(1, Math.floor(T * (1 - ratio) + 1e-9));
  const tokenScores = Array.from({ length: H }, (_, h) => {
    const a = naiveWindowAttention(s, T, h, W);
    return Array.from({ length: T - W }, (_, j) => a.reduce((acc, row) => acc + row[j]!, 0));
  });
  const summed = tokenScores[0]!.map((_, j) => tokenScores.reduce((acc, t) => acc + t[j]!, 0));
  return Array.from({ length: H }, (_, h) => {
    if (nKeep <= W) return Array.from({ length: nKeep }, (_, i) => T - nKeep + i);
    const ts = o.perHead ? tokenScores[h]! : summed;
    const chunks: { lo: number; hi: number; score: number }[] = [];
    for (let lo = 0; lo < T - W; lo += o.chunkSize) {
      const hi = Math.min(T - W, lo + o.chunkSize);
      const sum = ts.slice(lo, hi).reduce((a, b) => a + b, 0);
      const mean = sum / (hi - lo);
      chunks.push({ lo, hi, score: o.aggregate === 'mean' ? mean : hi - lo < o.chunkSize ? mean * o.chunkSize : sum });
    }
    const ranked = chunks.map((c, i) => ({ ...c, i })).sort((a, b) => b.score - a.score || a.i - b.i);
    const kept = new Set<number>();
    for (let j = T - W; j < T; j++) kept.add(j);
    let room = nKeep - W;
    for (const c of ranked) {
      for (let j = c.lo; j < c.hi && room > 0; j++, room--) kept.add(j);
      if (room === 0) break;
    }
    return [...kept].sort((a, b) => a - b);
  });
}

test('ChunkKV keeps what the naive implementation keeps (sum/mean, shared/per-head, GQA and MHA, partial chunks)', () => {
  const cases: [number, Partial<ChunkKVOptions>, number, number, number][] = [
    [57, { window: 8, chunkSize: 10 }, 0.5, 1, 2],
    [63, { window: 5, chunkSize: 7, aggregate: 'mean' }, 0.7, 2, 2],
    [44, { window: 4, chunkSize: 6, perHead: true }, 0.3, 3, 2],
    [51, { window: 6, chunkSize: 4 }, 0.8, 4, 4],
    [30, { window: 8, chunkSize: 5 }, 0.9, 5, 2],
    [40, { window: 32, chunkSize: 10 }, 0.5, 6, 2],
  ];
  for (const [T, over, ratio, seed, nKvHeads] of cases) {
    const o = { ...chunkkvDefaults, ...over };
    const s = syntheticLayer({ T, seed, nKvHeads });
    const keep = new ChunkKVPress(o).compress(s.view, { ratio })!;
    const want = naiveChunkKV(s, ratio, o);
    for (let h = 0; h < nKvHeads; h++) {
      assert.deepEqual([...keep[h]!], want[h], `T=${T} ${JSON.stringify(over)} ratio ${ratio} head ${h}`);
      assert.equal(keep[h]!.length, keepCount(T, { ratio }), 'exact budget');
    }
  }
});

test('ChunkKV: a relevant span survives as one contiguous block, the window is kept, the budget is exact', () => {
  const s = syntheticLayer({ T: 80, seed: 11, scale: 0.3 });
  const d = s.config.headDim;
  for (const head of s.heads) for (let t = 30; t < 40; t++) for (let i = 0; i < d; i++) head.keys[t * d + i] = i % 2 ? 2 : -2;
  for (let t = 72; t < 80; t++) for (let q = 0; q < s.config.nHeads; q++) for (let i = 0; i < d; i++) s.queries[(t * s.config.nHeads + q) * d + i] = i % 2 ? 2 : -2;
  const keep = createPress('chunkkv', { window: 8, chunkSize: 10 }).compress(viewOf(s.config, s.heads, s.queries, s.T), { ratio: 0.75 })!;
  for (const k of keep) {
    assert.equal(k.length, 20);
    for (let t = 30; t < 40; t++) assert.ok(k.includes(t), `span entry ${t} kept`);
    for (let t = 72; t < 80; t++) assert.ok(k.includes(t), `window entry ${t} kept`);
    // The two leftover slots go to the leading entries of the next-ranked chunk: contiguous too.
    const rest = [...k].filter((t) => t < 30 || (t >= 40 && t < 72));
    assert.equal(rest.length, 2);
    assert.equal(rest[1]! - rest[0]!, 1);
    assert.equal(rest[0]! % 10, 0);
  }
});

test('ChunkKV index reuse: layer ℓ mod N ≠ 0 reuses the source ranking without scoring; report and Jaccard', () => {
  const layers = [0, 1, 2, 3].map((layer) => {
    const s = syntheticLayer({ T: 60, seed: 20 + layer, nLayers: 4 });
    return { s, view: viewOf(s.config, s.heads, s.queries, s.T, layer) };
  });
  const reuse = new ChunkKVPress({ ...chunkkvDefaults, window: 8, reuse: 2 });
  const fresh = new ChunkKVPress({ ...chunkkvDefaults, window: 8 });
  const kr = layers.map((l) => reuse.compress(l.view, { ratio: 0.6 })!);
  const kf = layers.map((l) => fresh.compress(l.view, { ratio: 0.6 })!);
  assert.deepEqual(kr[1], kr[0], 'layer 1 reuses layer 0');
  assert.deepEqual(kr[3], kr[2], 'layer 3 reuses layer 2');
  assert.deepEqual(kr[0], kf[0]);
  assert.deepEqual(kr[2], kf[2], 'layer 2 scores afresh');
  assert.notDeepEqual(kf[1], kf[0], 'different attention, different chunks without reuse');
  const rep = reuse.report();
  assert.deepEqual(rep.map((r) => r.reused), [false, true, false, true]);
  assert.ok(rep.every((r) => (r.reused ? r.scoreMs === 0 : r.scoreMs > 0)));
  assert.equal(rep[1]!.jaccardWithPrevious, 1);
  assert.equal(rep[0]!.jaccardWithPrevious, null);
  const fr = fresh.report();
  for (const l of [1, 2, 3]) {
    const a = new Set(kf[l]![0]);
    const b = new Set(kf[l - 1]![0]);
    const inter = [...a].filter((x) => b.has(x)).length;
    const jac0 = inter / (a.size + b.size - inter);
    const a1 = new Set(kf[l]![1]);
    const b1 = new Set(kf[l - 1]![1]);
    const inter1 = [...a1].filter((x) => b1.has(x)).length;
    const jac1 = inter1 / (a1.size + b1.size - inter1);
    assert.ok(Math.abs(fr[l]!.jaccardWithPrevious! - (jac0 + jac1) / 2) < 1e-12);
  }
});

test('ChunkKV reuse with a different budget re-cuts the source ranking; mismatched entries score afresh', () => {
  const s0 = syntheticLayer({ T: 60, seed: 31, nLayers: 2 });
  const s1 = syntheticLayer({ T: 60, seed: 32, nLayers: 2 });
  const p = new ChunkKVPress({ ...chunkkvDefaults, window: 8, reuse: 2 });
  const k0 = p.compress(viewOf(s0.config, s0.heads, s0.queries, 60, 0), { ratio: 0.5 })!;
  const k1 = p.compress(viewOf(s1.config, s1.heads, s1.queries, 60, 1), { ratio: 0.7 })!;
  assert.equal(k1[0]!.length, 18);
  assert.ok([...k1[0]!].every((t) => k0[0]!.includes(t)), 'a smaller cut of the same ranking is a subset');
  const s2 = syntheticLayer({ T: 50, seed: 33, nLayers: 2 });
  const q = new ChunkKVPress({ ...chunkkvDefaults, window: 8, reuse: 2 });
  q.compress(viewOf(s0.config, s0.heads, s0.queries, 60, 0), { ratio: 0.5 });
  q.compress(viewOf(s2.config, s2.heads, s2.queries, 50, 1), { ratio: 0.5 });
  assert.equal(q.report()[1]!.reused, false, 'another prompt length cannot reuse');
});

test('ChunkKV in a session (GQA): every layer keeps exactly n_keep per head; bad parameters fail clearly', () => {
  const { model, tokenizer } = tinyModel({ nLayers: 3 });
  const press = createPress('chunkkv', { window: 4, chunkSize: 5, reuse: 2 }) as ChunkKVPress;
  const s = new Session(model, tokenizer, { compression: { press, ratio: 0.6 } });
  s.prefill(randomIds(47, model.config.vocabSize));
  for (let l = 0; l < 3; l++) for (const h of s.cache.layer(l)) assert.equal(h.length, keepCount(47, { ratio: 0.6 }));
  assert.deepEqual(press.report().map((r) => r.reused), [false, true, false]);
  assert.throws(() => createPress('chunkkv', { chunkSize: 0 }), /chunkSize must be a positive integer/);
  assert.throws(() => createPress('chunkkv', { aggregate: 'max' }), /aggregate must be one of sum, mean/);
});
