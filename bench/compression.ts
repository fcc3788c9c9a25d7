// Decode speed at a long context with and without KV compression: the smaller cache a press leaves
// is what decoding attends over, so tok/s should rise as the kept fraction falls.
// Then the same at a long context: an 8k-token prompt prefilled once in chunks of 512, its cache
// cloned and compressed by SnapKV to 100 / 50 / 10 % kept (as a chunked prefill's press does, after
// the last chunk), decode ms/token for each.
// `node --import tsx bench/compression.ts [--prompt-tokens 1536] [--gen-tokens 64] [--threads 2] [--long-tokens 8192]`
import { Command } from 'commander';
import { KVCache } from '../src/cache/kv-cache.js';
import { planChunks } from '../src/generate/chunk-plan.js';
import type { AttentionContext } from '../src/model/hooks.js';
import { loadCheckpoint } from '../src/formats/load-checkpoint.js';
import { benchPrompt } from '../src/bench/throughput.js';
import { createWasmBackend } from '../src/kernels/wasm-backend.js';
import { Model } from '../src/model/model.js';
import { pressHooks } from '../src/press/press-hooks.js';
import { createPress } from '../src/press/registry.js';
import { benchModelPath } from './bench-models.js';

const opts = new Command('bench-compression')
  .option('--shape <name>', 'model shape (bench-models.ts)', 'smollm2-135m')
  .option('--prompt-tokens <n>', 'context length before decoding', Number, 1536)
  .option('--gen-tokens <n>', 'decode steps', Number, 64)
  .option('--threads <n>', 'threads', Number, 2)
  .option('--long-tokens <n>', 'long context prefilled in chunks (0: skip)', Number, 8192)
  .parse(process.argv)
  .opts<{ shape: string; promptTokens: number; genTokens: number; threads: number; longTokens: number }>();

const settings: { label: string; press?: string; ratio?: number; quant?: 8 | 4 }[] = [
  { label: 'full cache' },
  { label: 'snapkv 0.5', press: 'snapkv', ratio: 0.5 },
  { label: 'snapkv 0.9', press: 'snapkv', ratio: 0.9 },
  { label: 'streamingllm 0.9', press: 'streamingllm', ratio: 0.9 },
  { label: 'kivi int8', quant: 8 },
];

const backend = await createWasmBackend({ threads: opts.threads });

// 1. The attention kernel alone: one decoding query over one layer whose heads were compacted to a fraction.
{
  const [T, nKv, g, d] = [8192, 4, 4, 64];
  const q = Float32Array.from({ length: nKv * g * d }, () => Math.random() - 0.5);
  const out = new Float32Array(q.length);
  console.log(`attention kernel (${backend.name}), one query × ${nKv * g} heads over ${T} entries per KV head, by kept fraction:`);
  let full = 0;
  for (const kept of [1, 0.5, 0.25, 0.1]) {
    const cache = new KVCache({ nLayers: 1, nKvHeads: nKv, headDim: d }, { storage: backend.cacheStorage });
    const row = Float32Array.from({ length: d }, () => Math.random() - 0.5);
    for (const h of cache.layer(0)) for (let t = 0; t < T; t++) h.append(row, 0, row, 0, t);
    const n = Math.floor(T * kept);
    for (const h of cache.layer(0)) h.keep(Int32Array.from({ length: n }, (_, i) => Math.floor((i * T) / n)));
    const reps = 200;
    for (let i = 0; i < 20; i++) backend.attend(out, q, 1, cache.layer(0), T, g, undefined);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) backend.attend(out, q, 1, cache.layer(0), T, g, undefined);
    const us = ((performance.now() - t0) / reps) * 1000;
    if (kept === 1) full = us;
    console.log(`  kept ${kept.toFixed(2)}: ${us.toFixed(1).padStart(8)} µs  (${(us / full).toFixed(2)} of full)`);
  }
}

const checkpoint = loadCheckpoint(benchModelPath(opts.shape, 'f32'), { alloc: (n) => backend.allocBytes(n) });
// The bench file's context is 2048: RoPE needs no table, so the long run lifts the limit.
const model = Model.fromCheckpoint({ ...checkpoint, config: { ...checkpoint.config, maxSeqLen: Math.max(checkpoint.config.maxSeqLen, opts.longTokens + opts.genTokens) } }, { backend });
const { config } = model;
const prompt = benchPrompt(opts.promptTokens, config.vocabSize);
const argmax = (x: Float32Array) => x.reduce((b, v, i) => (v > x[b]! ? i : b), 0);
console.log(`${opts.shape}, context ${opts.promptTokens}, ${opts.genTokens} decode steps, ${opts.threads} thread(s)`);
// Every setting is prefilled first; decode steps then alternate between settings so that a
// machine whose load changes over time slows them all alike.
const runs = settings.map((s) => {
  const { nLayers, nKvHeads, headDim } = config;
  const cache = s.quant
    ? new KVCache({ nLayers, nKvHeads, headDim }, { quant: { bits: s.quant, group: 32, residual: 128 } })
    : model.newCache();
  const hooks = s.press ? pressHooks(createPress(s.press), { ratio: s.ratio! }, { config, tokens: prompt }) : undefined;
  return { s, cache, logits: model.forward(prompt, cache, { hooks }), ms: 0 };
});
for (let i = 0; i < opts.genTokens; i++)
  for (const r of runs) {
    const t0 = performance.now();
    r.logits = model.forward([argmax(r.logits)], r.cache);
    r.ms += performance.now() - t0;
  }
console.log('setting            decode tok/s   KV kept / full (MB)');
const mb = (b: number) => (b / 1e6).toFixed(1);
const tps = (ms: number) => opts.genTokens / (ms / 1000);
for (const r of runs)
  console.log(`${r.s.label.padEnd(18)} ${tps(r.ms).toFixed(1).padStart(12)} (${(runs[0]!.ms / r.ms).toFixed(2)}×)   ${mb(r.cache.bytes())} / ${mb(r.cache.fullBytes())}`);
for (const r of runs) r.cache.free();

if (opts.longTokens > 0) {
  const long = benchPrompt(opts.longTokens, config.vocabSize, 1);
  const base = model.newCache();
  base.tokens.push(...long);
  // What the press sees after the last chunk, per layer (queries copied: the forward reuses its buffers).
  const last: AttentionContext[] = [];
  const chunks = planChunks(long.length, 512);
  const t0 = performance.now();
  let logits: Float32Array = new Float32Array(0);
  for (const [i, c] of chunks.entries()) {
    const hooks = i === chunks.length - 1 ? { afterAttention: (a: AttentionContext) => void last.push({ ...a, queries: a.queries.slice() }) } : undefined;
    logits = model.forwardBatch([{ tokens: long.slice(c.from, c.to), cache: base, hooks, chunkOf: { from: c.from, of: long.length } }])[0]!;
  }
  console.log(`\n${opts.shape}, context ${opts.longTokens} prefilled in ${chunks.length} chunks of ≤ 512 (${((performance.now() - t0) / 1000).toFixed(0)} s), ${opts.genTokens} decode steps:`);
  const kept = [1, 0.5, 0.1].map((k) => {
    const cache = base.clone();
    if (k < 1) {
      const press = pressHooks(createPress('snapkv'), { ratio: 1 - k }, { config, tokens: cache.tokens });
      for (const a of last) press.afterAttention!({ ...a, heads: cache.layer(a.layer) });
    }
    return { k, cache, logits: logits as Float32Array, ms: 0 };
  });
  base.free();
  for (let i = 0; i < opts.genTokens; i++)
    for (const r of kept) {
      const t1 = performance.now();
      r.logits = model.forward([argmax(r.logits)], r.cache);
      r.ms += performance.now() - t1;
    }
  console.log('kept    decode ms/token   speed-up   KV kept / full (MB)');
  for (const r of kept)
    console.log(`${(r.k * 100).toFixed(0).padStart(3)} %  ${(r.ms / opts.genTokens).toFixed(1).padStart(14)}   ${(kept[0]!.ms / r.ms).toFixed(2).padStart(7)}×   ${mb(r.cache.bytes())} / ${mb(r.cache.fullBytes())}`);
}
backend.dispose();
