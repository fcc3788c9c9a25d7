import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WasmBackend } from '../../src/kernels/wasm-backend.js';
import { HeadCache } from '../../src/cache/head-cache.js';
import { attendLayer } from '../../src/kernels/attention.js';
import { oneAndTwoThreads, randoms, sameBits } from '../helpers/wasm-kernels.js';

const wasm = oneAndTwoThreads();

interface Case {
  kvHeads: number;
  group: number;
  headDim: number;
  n: number;
  startPos: number;
  window?: number;
}

/** Ragged heads: each KV head holds positions 0…startPos+n−1 with a different set evicted. */
function fillHeads(backend: WasmBackend | undefined, c: Case, seed: number): HeadCache[] {
  const r = randoms(seed);
  const total = c.startPos + c.n;
  return Array.from({ length: c.kvHeads }, (_, h) => {
    const head = new HeadCache(c.headDim, 4, false, backend?.cacheStorage);
    const k = new Float32Array(c.headDim);
    const v = new Float32Array(c.headDim);
    for (let p = 0; p < total; p++) {
      if (p < c.startPos && (p * 7 + h * 3) % 5 === 0) continue; // evicted from the prompt part
      for (let i = 0; i < c.headDim; i++) {
        k[i] = r() * 2;
        v[i] = r();
      }
      head.append(k, 0, v, 0, p);
    }
    return head;
  });
}

/** Float64 two-pass softmax attention, written from the definition. */
function naive(q: Float32Array, heads: HeadCache[], c: Case): Float64Array {
  const nHeads = c.kvHeads * c.group;
  const d = c.headDim;
  const out = new Float64Array(c.n * nHeads * d);
  for (let t = 0; t < c.n; t++)
    for (let qh = 0; qh < nHeads; qh++) {
      const head = heads[Math.floor(qh / c.group)]!;
      const pos = c.startPos + t;
      const qo = (t * nHeads + qh) * d;
      const seen: [number, number][] = [];
      for (let j = 0; j < head.length; j++) {
        const p = head.positions[j]!;
        if (p > pos || (c.window !== undefined && p <= pos - c.window)) continue;
        let s = 0;
        for (let i = 0; i < d; i++) s += q[qo + i]! * head.keys[j * d + i]!;
        seen.push([j, s / Math.sqrt(d)]);
      }
      const max = Math.max(...seen.map(([, s]) => s));
      const sum = seen.reduce((a, [, s]) => a + Math.exp(s - max), 0);
      for (const [j, s] of seen) {
        const w = Math.exp(s - max) / sum;
        for (let i = 0; i < d; i++) out[qo + i] += w * head.values[j * d + i]!;
      }
    }
  return out;
}

const cases: Case[] = [
  { kvHeads: 3, group: 3, headDim: 64, n: 1, startPos: 40 },
  { kvHeads: 3, group: 3, headDim: 64, n: 17, startPos: 0 },
  { kvHeads: 2, group: 2, headDim: 6, n: 5, startPos: 9 },
  { kvHeads: 1, group: 4, headDim: 34, n: 9, startPos: 3, window: 5 },
  { kvHeads: 4, group: 1, headDim: 13, n: 1, startPos: 30, window: 8 },
  // Decode (n ≤ 4): one tile, keys split into parts of about 128 (at most 16) and merged; ragged lengths.
  { kvHeads: 3, group: 3, headDim: 64, n: 1, startPos: 539 },
  { kvHeads: 2, group: 4, headDim: 36, n: 3, startPos: 301 },
  { kvHeads: 4, group: 1, headDim: 20, n: 2, startPos: 150, window: 37 },
  { kvHeads: 1, group: 3, headDim: 64, n: 4, startPos: 2600 },
  { kvHeads: 3, group: 3, headDim: 20, n: 1, startPos: 700, window: 100 },
  { kvHeads: 2, group: 3, headDim: 7, n: 4, startPos: 2 },
  // Prefill (n > 4): tiles of four tokens × the group, keys in segments of 128 with an online
  // rescale between them; last tiles partial, caches longer than a segment, prefixes with gaps;
  // under 16 tiles × KV heads the keys are split into parts and merged as in decode.
  { kvHeads: 3, group: 3, headDim: 64, n: 64, startPos: 0 },
  { kvHeads: 2, group: 4, headDim: 33, n: 130, startPos: 0 },
  { kvHeads: 4, group: 1, headDim: 64, n: 130, startPos: 200 },
  { kvHeads: 3, group: 3, headDim: 64, n: 130, startPos: 0, window: 50 },
  { kvHeads: 1, group: 3, headDim: 17, n: 64, startPos: 150, window: 40 },
  { kvHeads: 3, group: 3, headDim: 64, n: 5, startPos: 300, window: 200 },
  { kvHeads: 2, group: 4, headDim: 64, n: 17, startPos: 61 },
  { kvHeads: 1, group: 1, headDim: 7, n: 130, startPos: 3, window: 129 },
  { kvHeads: 2, group: 1, headDim: 5, n: 5, startPos: 0 },
  { kvHeads: 2, group: 3, headDim: 64, n: 6, startPos: 600 },
];

for (const c of cases) {
  const name = `kv ${c.kvHeads} × group ${c.group}, d ${c.headDim}, n ${c.n} from ${c.startPos}${c.window ? `, window ${c.window}` : ''}`;
  test(`attention ${name}: wasm (1 and 2 threads, identical bits) and the TS twin match float64`, () => {
    const seed = c.headDim * 31 + c.n;
    const h1 = fillHeads(wasm.one, c, seed);
    const h2 = fillHeads(wasm.two, c, seed);
    const hTs = fillHeads(undefined, c, seed);
    const len = c.n * c.kvHeads * c.group * c.headDim;
    const r = randoms(seed + 1);
    const q = Float32Array.from({ length: len }, () => r() * 2);
    const a = new Float32Array(len);
    const b = new Float32Array(len);
    const t = new Float32Array(len);
    wasm.one.attend(a, q, c.n, h1, c.startPos, c.group, c.window);
    wasm.two.attend(b, q, c.n, h2, c.startPos, c.group, c.window);
    attendLayer(t, q, c.n, hTs, c.startPos, c.group, c.window);
    assert.ok(sameBits(a, b), 'threads 1 vs 2 differ');
    const ref = naive(q, hTs, c);
    for (let i = 0; i < len; i++) {
      // outputs are convex combinations of values in [-1, 1): absolute error is relative to 1
      assert.ok(Math.abs(a[i]! - ref[i]!) < 1e-5, `wasm [${i}] ${a[i]} vs ${ref[i]}`);
      assert.ok(Math.abs(t[i]! - ref[i]!) < 1e-5, `ts [${i}] ${t[i]} vs ${ref[i]}`);
    }
  });
}

/** Two KV heads of random keys and values: head 0 holds positions 0…195 (196…199 evicted), head 1 holds 0…199. */
function headsKeeping196And200(d: number, seed: number, backend: WasmBackend | undefined): HeadCache[] {
  const r = randoms(seed);
  return [196, 200].map((kept) => {
    const head = new HeadCache(d, 4, false, backend?.cacheStorage);
    const k = Float32Array.from({ length: d }, r);
    for (let p = 0; p < kept; p++) head.append(k.map((x) => x * r()), 0, k.map((x) => x * r()), 0, p);
    return head;
  });
}

test('attention: a query that sees no entry (window past every kept one) gets a zero row on every path', () => {
  const d = 20;
  const build = (backend: WasmBackend | undefined) => headsKeeping196And200(d, 11, backend);
  const len = 2 * 3 * d;
  const q = Float32Array.from({ length: len }, randoms(12));
  const [a, b, t] = [0, 1, 2].map(() => new Float32Array(len).fill(7));
  wasm.one.attend(a!, q, 1, build(wasm.one), 199, 3, 4);
  wasm.two.attend(b!, q, 1, build(wasm.two), 199, 3, 4);
  attendLayer(t!, q, 1, build(undefined), 199, 3, 4);
  assert.ok(sameBits(a!, b!), 'threads 1 vs 2 differ');
  for (const out of [a!, t!]) {
    assert.ok(out.subarray(0, 3 * d).every((x) => x === 0), 'the evicted head gives zero rows');
    assert.ok(out.subarray(3 * d).every((x) => x !== 0 && Number.isFinite(x)), 'the other head attends');
  }
  for (let i = 3 * d; i < len; i++) assert.ok(Math.abs(a![i]! - t![i]!) < 1e-5);
});

test('attention: prefill rows that see no entry (window past the kept ones) are zero, the other rows of the tile are not', () => {
  const d = 20;
  const build = (backend: WasmBackend | undefined) => headsKeeping196And200(d, 13, backend);
  // Six tokens at 194…199, window 4: under head 0, position 199 sees nothing, 194…198 see some.
  const n = 6;
  const len = n * 2 * 3 * d;
  const q = Float32Array.from({ length: len }, randoms(14));
  const [a, b, t] = [0, 1, 2].map(() => new Float32Array(len).fill(7));
  wasm.one.attend(a!, q, n, build(wasm.one), 194, 3, 4);
  wasm.two.attend(b!, q, n, build(wasm.two), 194, 3, 4);
  attendLayer(t!, q, n, build(undefined), 194, 3, 4);
  assert.ok(sameBits(a!, b!), 'threads 1 vs 2 differ');
  for (const out of [a!, t!])
    for (let u = 0; u < n; u++) {
      const row = out.subarray(u * 6 * d, (u + 1) * 6 * d);
      const head0 = row.subarray(0, 3 * d);
      if (u === n - 1) assert.ok(head0.every((x) => x === 0), 'position 199 under head 0 is a zero row');
      else assert.ok(head0.every((x) => x !== 0 && Number.isFinite(x)), `token ${u} under head 0 attends`);
      assert.ok(row.subarray(3 * d).every((x) => x !== 0 && Number.isFinite(x)), `token ${u} under head 1 attends`);
    }
  for (let i = 0; i < len; i++) assert.ok(Math.abs(a![i]! - t![i]!) < 1e-5);
});

test('attention: a cache on the JS heap or tracking attention takes the TypeScript path with the same result', () => {
  const c: Case = { kvHeads: 2, group: 2, headDim: 8, n: 3, startPos: 5 };
  const heap = fillHeads(undefined, c, 5);
  const tracked = fillHeads(undefined, c, 5).map((h) => {
    const t = new HeadCache(h.headDim, 4, true, wasm.one.cacheStorage);
    for (let j = 0; j < h.length; j++) t.append(h.keys, j * h.headDim, h.values, j * h.headDim, h.positions[j]!);
    return t;
  });
  const len = c.n * 4 * 8;
  const q = Float32Array.from({ length: len }, randoms(9));
  const a = new Float32Array(len);
  const b = new Float32Array(len);
  const ref = new Float32Array(len);
  wasm.one.attend(a, q, c.n, heap, c.startPos, c.group, undefined);
  wasm.one.attend(b, q, c.n, tracked, c.startPos, c.group, undefined);
  attendLayer(ref, q, c.n, fillHeads(undefined, c, 5), c.startPos, c.group, undefined);
  assert.ok(sameBits(a, ref));
  assert.ok(sameBits(b, ref));
  const acc = tracked[0]!.attentionSums!;
  assert.ok(acc.some((x) => x > 0), 'accumulated attention was recorded');
});

test('cache storage: wasm-backed head buffers grow, evict and clone like heap ones', () => {
  const h = new HeadCache(4, 2, false, wasm.one.cacheStorage);
  const k = Float32Array.from([1, 2, 3, 4]);
  for (let p = 0; p < 9; p++) h.append(k.map((x) => x + p), 0, k, 0, p);
  h.keep(Int32Array.from([0, 3, 8]));
  const c = h.clone();
  assert.deepEqual(Array.from(c.positions.subarray(0, c.length)), [0, 3, 8]);
  assert.deepEqual(Array.from(c.keys.subarray(4, 8)), [4, 5, 6, 7]);
  assert.equal(c.storage, wasm.one.cacheStorage);
});

test('cache storage: freed and outgrown head buffers go back to the arena at once, so caches dropped in a loop reuse memory', () => {
  const k = Float32Array.from({ length: 8 }, (_, i) => i);
  const offsets = new Set<number>();
  for (let s = 0; s < 200; s++) {
    const h = new HeadCache(8, 2, false, wasm.one.cacheStorage);
    for (let p = 0; p < 100; p++) h.append(k, 0, k, 0, p);
    offsets.add(h.keys.byteOffset);
    h.free();
    h.free(); // a second free gives nothing back twice
  }
  // Without release the collector (which does not see wasm memory) would leave every block in use: 200 offsets.
  assert.ok(offsets.size <= 2, `${offsets.size} distinct key blocks`);
  const h = new HeadCache(8, 2, false, wasm.one.cacheStorage);
  h.free();
  h.append(k, 0, k.map((x) => -x), 0, 7);
  assert.equal(h.length, 1, 'a freed head is empty and usable');
  assert.deepEqual(Array.from(h.values.subarray(0, 8)), Array.from(k, (x) => -x));
  assert.ok(wasm.one.cacheStorage.floats(4).every((x) => x === 0), 'a reused block is handed out zeroed');
});

test('attention: bad shapes are RangeErrors', () => {
  const heads = fillHeads(wasm.one, { kvHeads: 2, group: 2, headDim: 8, n: 2, startPos: 3 }, 3);
  assert.throws(() => wasm.one.attend(new Float32Array(64), new Float32Array(63), 2, heads, 3, 2, undefined), RangeError);
  assert.throws(() => wasm.one.attend(new Float32Array(63), new Float32Array(64), 2, heads, 3, 2, undefined), RangeError);
  assert.throws(() => wasm.one.attend(new Float32Array(64), new Float32Array(64), 2, [], 3, 2, undefined), RangeError);
  assert.throws(() => wasm.one.attend(new Float32Array(64), new Float32Array(64), 0, heads, 3, 2, undefined), RangeError);
});
