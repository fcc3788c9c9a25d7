import { loadCheckpoint } from '../formats/load-checkpoint.js';
import { createWasmBackend } from '../kernels/wasm-backend.js';
import { Model } from '../model/model.js';
import { benchPrompt, peakRssMb, type Throughput, type ThroughputOptions } from './throughput.js';

/**
 * Prefill of `promptTokens` as one batch, then `genTokens` greedy decode steps, on the WebAssembly
 * backend; with `batch` > 1, that many sequences are prefilled one after another and then decode
 * together, one forwardBatch per step. A short warm-up run first lets V8 tier the kernels up in every
 * thread (its 64-token prefill also starts the native GEMM's threads when that is in use).
 */
export async function measureKvtrim(path: string, o: ThroughputOptions): Promise<Throughput & { vocabSize: number }> {
  const backend = await createWasmBackend({ threads: o.threads, nativeGemm: o.nativeGemm });
  try {
    const model = Model.fromCheckpoint(loadCheckpoint(path, { alloc: (n) => backend.allocBytes(n) }), { backend });
    const { vocabSize, maxSeqLen } = model.config;
    if (o.promptTokens + o.genTokens > maxSeqLen) throw new RangeError(`${o.promptTokens} + ${o.genTokens} tokens exceed the model's context of ${maxSeqLen}`);
    const batch = o.batch ?? 1;
    const warm = model.newCache();
    let logits = model.forward(benchPrompt(64, vocabSize), warm);
    for (let i = 0; i < 4; i++) logits = model.forward([argmax(logits)], warm);
    warm.free();

    const caches = Array.from({ length: batch }, () => model.newCache());
    const t0 = performance.now();
    let last = caches.map((c, s) => model.forward(benchPrompt(o.promptTokens, vocabSize, s), c));
    const t1 = performance.now();
    for (let i = 0; i < o.genTokens; i++) last = model.forwardBatch(caches.map((cache, s) => ({ tokens: [argmax(last[s]!)], cache })));
    const t2 = performance.now();
    for (const c of caches) c.free();
    return {
      prefill_tps: (batch * o.promptTokens) / ((t1 - t0) / 1000),
      decode_tps: (batch * o.genTokens) / ((t2 - t1) / 1000),
      step_ms: (t2 - t1) / o.genTokens,
      peak_rss_mb: peakRssMb(),
      vocabSize,
    };
  } finally {
    backend.dispose();
  }
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}
