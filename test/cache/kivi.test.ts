import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KVCache } from '../../src/cache/kv-cache.js';
import { QuantizedHeadCache } from '../../src/cache/quantized-head-cache.js';
import { Session } from '../../src/generate/session.js';
import { loadModel } from '../../src/model/load-model.js';
import { modelPath } from '../helpers/model-files.js';

function rows(T: number, d: number, seed: number, outlierChannel = -1): Float32Array {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Float32Array.from({ length: T * d }, (_, i) => r() * (i % d === outlierChannel ? 20 : 1));
}

/** Naive float64 KIVI bound: per-channel key groups of G tokens and per-token value groups of Gv channels; |x − x̂| ≤ scale/2. */
function naiveBounds(x: Float32Array, T: number, d: number, bits: number, G: number, perChannel: boolean, Gv: number): number[] {
  const bound = new Array<number>(T * d).fill(0);
  const levels = 2 ** bits - 1;
  if (perChannel)
    for (let b = 0; b < Math.floor(T / G); b++)
      for (let c = 0; c < d; c++) {
        const vals = Array.from({ length: G }, (_, r) => x[(b * G + r) * d + c]!);
        const sc = (Math.max(...vals) - Math.min(...vals)) / levels;
        for (let r = 0; r < G; r++) bound[(b * G + r) * d + c] = sc / 2;
      }
  else
    for (let t = 0; t < T; t++)
      for (let g = 0; g < d / Gv; g++) {
        const vals = Array.from({ length: Gv }, (_, i) => x[t * d + g * Gv + i]!);
        const sc = (Math.max(...vals) - Math.min(...vals)) / levels;
        for (let i = 0; i < Gv; i++) bound[t * d + g * Gv + i] = sc / 2;
      }
  return bound;
}

test('KIVI int8/int4: dequantisation error within scale/2 per element; the full-precision residual is bit-exact; bytes are exact', () => {
  const d = 8;
  for (const bits of [8, 4] as const)
    for (const [G, R, T] of [
      [4, 8, 27],
      [8, 16, 40],
      [4, 4, 13],
    ] as const) {
      const K = rows(T, d, 1, 3);
      const V = rows(T, d, 2);
      const h = new QuantizedHeadCache(d, { bits, group: G, residual: R });
      for (let t = 0; t < T; t++) h.append(K, t * d, V, t * d, t);
      const kq = T - (T % R);
      const vq = Math.max(0, T - R);
      assert.deepEqual(h.quantisedEntries, { keys: kq, values: vq });
      const kb = naiveBounds(K, kq, d, bits, G, true, 0);
      const vb = naiveBounds(V, vq, d, bits, 0, false, Math.min(G, d));
      const keys = h.keys.slice(0, T * d);
      const values = h.values.slice(0, T * d);
      for (let i = 0; i < T * d; i++) {
        const t = Math.floor(i / d);
        if (t < kq) assert.ok(Math.abs(keys[i]! - K[i]!) <= kb[i]! * (1 + 1e-5) + 1e-6, `key ${bits}b G${G} [${i}] ${keys[i]} vs ${K[i]} bound ${kb[i]}`);
        else assert.equal(keys[i], K[i], 'key residual exact');
        if (t < vq) assert.ok(Math.abs(values[i]! - V[i]!) <= vb[i]! * (1 + 1e-5) + 1e-6, `value [${i}]`);
        else assert.equal(values[i], V[i], 'value residual exact');
      }
      const Gv = Math.min(G, d);
      const want = (kq / G) * (Math.ceil((G * d * bits) / 8) + 8 * d) + (T - kq) * 4 * d + vq * (Math.ceil((d * bits) / 8) + 8 * (d / Gv)) + (T - vq) * 4 * d + 4 * T;
      assert.equal(h.bytes(), want);
      assert.ok(bits === 4 || T < 2 * R || h.bytes() < T * (2 * 4 * d + 4), 'smaller than float32');
    }
});

test('KIVI: a constant group dequantises exactly (scale 0); compaction re-quantises and keeps positions and accumulators', () => {
  const d = 4;
  const h = new QuantizedHeadCache(d, { bits: 4, group: 2, residual: 2 }, true);
  const c = new Float32Array(d).fill(0.375);
  for (let t = 0; t < 9; t++) h.append(c, 0, c, 0, t * 2);
  assert.deepEqual([...h.keys.subarray(0, 9 * d)], new Array(9 * d).fill(0.375));
  h.attentionSums!.set([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  h.keep(Int32Array.from([0, 3, 4, 8]));
  assert.equal(h.length, 4);
  assert.deepEqual([...h.positions.subarray(0, 4)], [0, 6, 8, 16]);
  assert.deepEqual([...h.attentionSums!.subarray(0, 4)], [0, 3, 4, 8]);
  assert.deepEqual([...h.values.subarray(0, 4 * d)], new Array(4 * d).fill(0.375));
  const k = h.clone();
  k.keep(Int32Array.from([1]));
  assert.equal(h.length, 4);
  assert.throws(() => h.keep(Int32Array.from([2, 2])), RangeError);
  assert.throws(() => new QuantizedHeadCache(4, { bits: 3 as 8, group: 2, residual: 2 }), /8 or 4/);
  assert.throws(() => new QuantizedHeadCache(4, { bits: 8, group: 4, residual: 6 }), /multiple/);
});

test('KIVI: two quantised heads read one after the other each see their own keys', () => {
  const cache = new KVCache({ nLayers: 1, nKvHeads: 2, headDim: 4 }, { quant: { bits: 8, group: 2, residual: 2 } });
  const [a, b] = cache.heads[0]!;
  for (let t = 0; t < 5; t++) {
    a!.append(new Float32Array(4).fill(t), 0, new Float32Array(4).fill(t), 0, t);
    b!.append(new Float32Array(4).fill(-t), 0, new Float32Array(4).fill(-t), 0, t);
  }
  assert.equal(a!.keys[8], 2);
  assert.equal(b!.keys[8], -2);
  assert.equal(a!.keys[16], 4);
});

const dir = modelPath('stories260K/');

test('stories260K with an int8 KIVI cache reproduces the full-precision greedy tokens on the reference prompts; int4 stores less', async () => {
  const { model, tokenizer } = await loadModel(dir + 'stories260K.bin', { tokenizerPath: dir + 'tok512.bin' });
  const cases = (JSON.parse(readFileSync(dir + 'reference.json', 'utf8')) as { cases: { prompt: string; generated_ids: number[] }[] }).cases;
  const int8Bytes: number[] = [];
  for (const c of cases) {
    // G = R = 32 (KIVI's example.py): most of each ~80-token sequence is stored quantised.
    const s = new Session(model, tokenizer, { kvQuant: { bits: 8, group: 32, residual: 32 } });
    s.prefill(c.prompt);
    const ids: number[] = [];
    for await (const t of s.generate({ maxTokens: c.generated_ids.length })) if (t.id >= 0) ids.push(t.id);
    assert.deepEqual(ids, c.generated_ids, c.prompt);
    // headDim 8 makes the float32 min/scale per group weigh as much as the codes: ~0.6–0.7 of float32 here.
    assert.ok(s.cache.bytes() < 0.75 * s.cache.fullBytes(), `int8 bytes ${s.cache.bytes()} of ${s.cache.fullBytes()}`);
    int8Bytes.push(s.cache.bytes());
  }
  const s4 = new Session(model, tokenizer, { kvQuant: { bits: 4, group: 32, residual: 32 } });
  s4.prefill(cases[0]!.prompt);
  for await (const _ of s4.generate({ maxTokens: cases[0]!.generated_ids.length }));
  assert.equal(s4.cache.seen, s4.stats.promptTokens + s4.stats.generatedTokens);
  // Same layout, half the code bytes: the difference is exactly d/2 bytes per quantised key and value.
  let halved = 0;
  for (const hs of s4.cache.heads)
    for (const h of hs) {
      const q = (h as QuantizedHeadCache).quantisedEntries;
      halved += ((q.keys + q.values) * h.headDim) / 2;
    }
  assert.ok(halved > 0);
  assert.equal(s4.cache.bytes(), int8Bytes[0]! - halved);
});
