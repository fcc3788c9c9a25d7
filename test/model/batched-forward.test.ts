import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KVCache } from '../../src/cache/kv-cache.js';
import type { DType } from '../../src/formats/tensor.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import { Model, type BatchPart } from '../../src/model/model.js';
import { pressHooks } from '../../src/press/press-hooks.js';
import { createPress } from '../../src/press/registry.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';
import { ensureKernelsBuilt, sameBits } from '../helpers/wasm-kernels.js';

/** Shapes the SIMD paths care about: widths in whole blocks of 32, heads of 16. */
const shape = (over: Partial<ModelConfig>) => tinyConfig({ dim: 64, hiddenDim: 96, nHeads: 4, nKvHeads: 2, headDim: 16, vocabSize: 67, maxSeqLen: 320, ...over });

/** One sequence of a test batch: what its cache holds before the step, what it runs, how. */
interface Case {
  history: number;
  n: number;
  press?: string;
  kvQuant?: boolean;
  trackSums?: boolean;
}

// Eight mixed sequences: decode steps after histories of several lengths, prompts whose lengths
// are and are not multiples of 4, presses on some (their own press and ratio each), one KIVI-quantised
// cache and one tracking attention sums (the TypeScript attention path).
const CASES: Case[] = [
  { history: 0, n: 1 },
  { history: 9, n: 1, kvQuant: true },
  { history: 40, n: 1, trackSums: true },
  { history: 0, n: 7, press: 'snapkv' },
  { history: 0, n: 70, press: 'knorm' },
  { history: 5, n: 12 },
  { history: 130, n: 1 },
  { history: 0, n: 3, press: 'streamingllm' },
];

function tokens(n: number, seed: number, vocab: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

function sameCache(a: KVCache, b: KVCache, what: string): void {
  assert.equal(a.seen, b.seen, `${what}: positions seen`);
  a.heads.forEach((hs, l) =>
    hs.forEach((h, i) => {
      const o = b.layer(l)[i]!;
      const d = h.headDim * h.length;
      assert.equal(h.length, o.length, `${what}: layer ${l} head ${i} length`);
      assert.deepEqual([...h.positions.subarray(0, h.length)], [...o.positions.subarray(0, o.length)], `${what}: layer ${l} head ${i} positions`);
      assert.ok(sameBits(h.keys.subarray(0, d), o.keys.subarray(0, d)) && sameBits(h.values.subarray(0, d), o.values.subarray(0, d)), `${what}: layer ${l} head ${i} entries`);
    }),
  );
}

for (const [variant, over] of [
  ['GQA', {}],
  ['qkv bias (Qwen2)', { arch: 'qwen2', qkvBias: true, ropeTheta: 1e6 }],
] as [string, Partial<ModelConfig>][])
  for (const dtype of ['f32', 'bf16', 'q8_0', 'q4_0'] as DType[])
    test(`a batch of 8 mixed sequences gives each the logits and cache it gets alone, bit for bit (${variant}, ${dtype} weights, 2 threads)`, async () => {
      ensureKernelsBuilt();
      const backend = await createWasmBackend({ threads: 2, dtype, nativeGemm: false });
      try {
        const lm = randomModel(shape(over), 11);
        const model = Model.fromCheckpoint(toCheckpoint(lm), { backend });
        const V = lm.config.vocabSize;
        const { nLayers, nKvHeads, headDim } = lm.config;
        const caches = CASES.map((c, i) => {
          const cache = c.kvQuant ? new KVCache({ nLayers, nKvHeads, headDim }, { quant: { bits: 4, group: 32, residual: 32 } }) : model.newCache({ trackAttentionSums: c.trackSums });
          if (c.history > 0) model.forward(tokens(c.history, 100 + i, V), cache);
          return cache;
        });
        const twins = caches.map((c) => c.clone());
        const hooksFor = (c: Case, cache: KVCache, ids: number[]) => {
          if (!c.press) return undefined;
          cache.tokens.push(...ids);
          return pressHooks(createPress(c.press), { ratio: 0.5 }, { config: lm.config, tokens: cache.tokens });
        };
        const runs = CASES.map((c, i) => tokens(c.n, 200 + i, V));
        const alone = CASES.map((c, i) => model.forward(runs[i]!, twins[i]!, { hooks: hooksFor(c, twins[i]!, runs[i]!), allLogits: i === 5 }));
        const parts: BatchPart[] = CASES.map((c, i) => ({ tokens: runs[i]!, cache: caches[i]!, hooks: hooksFor(c, caches[i]!, runs[i]!), allLogits: i === 5 }));
        const batched = model.forwardBatch(parts);
        CASES.forEach((_, i) => {
          assert.ok(sameBits(batched[i]!, alone[i]!), `sequence ${i}: logits`);
          sameCache(caches[i]!, twins[i]!, `sequence ${i}`);
        });
        // Then three decode steps of all eight together, each its own greedy token.
        for (let step = 0; step < 3; step++) {
          const next = batched.map((l) => [argmax(l.subarray(l.length - V))]);
          const a = next.map((t, i) => model.forward(t, twins[i]!));
          const b = model.forwardBatch(next.map((t, i) => ({ tokens: t, cache: caches[i]! })));
          b.forEach((l, i) => assert.ok(sameBits(l, a[i]!), `step ${step}, sequence ${i}`));
          batched.splice(0, batched.length, ...b);
        }
      } finally {
        backend.dispose();
      }
    });

test('a prompt prefilled in chunks of 4k tokens gives the one-shot prefill\'s logits and cache, bit for bit (1 and 2 threads)', async () => {
  ensureKernelsBuilt();
  for (const threads of [1, 2]) {
    const backend = await createWasmBackend({ threads, dtype: 'q8_0', nativeGemm: false });
    try {
      const lm = randomModel(shape({}), 12);
      const model = Model.fromCheckpoint(toCheckpoint(lm), { backend });
      const prompt = tokens(203, 300, lm.config.vocabSize);
      const oneShot = model.newCache();
      const want = model.forward(prompt, oneShot, { allLogits: true });
      for (const chunk of [64, 100, 200]) {
        const cache = model.newCache();
        const got: Float32Array[] = [];
        for (let from = 0; from < prompt.length; from += chunk)
          got.push(model.forwardBatch([{ tokens: prompt.slice(from, from + chunk), cache, allLogits: true, chunkOf: { from, of: prompt.length } }])[0]!);
        const all = new Float32Array(want.length);
        let at = 0;
        for (const g of got) all.set(g, (at += g.length) - g.length);
        assert.ok(sameBits(all, want), `chunks of ${chunk}, ${threads} thread(s): logits`);
        sameCache(cache, oneShot, `chunks of ${chunk}`);
      }
    } finally {
      backend.dispose();
    }
  }
});

test('chunks that cannot reproduce the one-shot order are refused: off a tile of 4, or of a prompt too short never to split keys', () => {
  const model = Model.fromCheckpoint(toCheckpoint(randomModel(shape({}), 13)));
  const ids = tokens(100, 1, 67);
  assert.throws(() => model.forwardBatch([{ tokens: ids.slice(2, 40), cache: model.newCache(), chunkOf: { from: 2, of: 100 } }]), /multiple of 4/);
  assert.throws(() => model.forwardBatch([{ tokens: ids.slice(0, 20), cache: model.newCache(), chunkOf: { from: 0, of: 40 } }]), /at least 64/);
  const shared = model.newCache();
  assert.throws(() => model.forwardBatch([{ tokens: [1], cache: shared }, { tokens: [2], cache: shared }]), /share a cache/);
});

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}
