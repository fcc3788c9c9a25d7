import { loadCheckpoint } from '../formats/load-checkpoint.js';
import { createWasmBackend } from '../kernels/wasm-backend.js';
import { Model } from '../model/model.js';
import { benchPrompt, peakRssMb, type Throughput, type ThroughputOptions } from './throughput.js';

/**
 * Prefill of `promptTokens` as one batch, then `genTokens` greedy single-token decode steps, on the
 * WebAssembly backend. A short warm-up run first lets V8 tier the kernels up in every thread (its
 * 64-token prefill also starts the native GEMM's threads when that is in use).
 */
export async function measureKvtrim(path: string, o: ThroughputOptions): Promise<Throughput & { vocabSize: number }> {
  const backend = await createWasmBackend({ threads: o.threads, nativeGemm: o.nativeGemm });
  try {
    const model = Model.fromCheckpoint(loadCheckpoint(path, { alloc: (n) => backend.allocBytes(n) }), { backend });
    const { vocabSize, maxSeqLen } = model.config;
    if (o.promptTokens + o.genTokens > maxSeqLen) throw new RangeError(`${o.promptTokens} + ${o.genTokens} tokens exceed the model's context of ${maxSeqLen}`);
    const prompt = benchPrompt(o.promptTokens, vocabSize);
    const warm = model.newCache();
    let logits = model.forward(prompt.slice(0, 64), warm);
    for (let i = 0; i < 4; i++) logits = model.forward([argmax(logits)], warm);

    const cache = model.newCache();
    const t0 = performance.now();
    logits = model.forward(prompt, cache);
    const t1 = performance.now();
    for (let i = 0; i < o.genTokens; i++) logits = model.forward([argmax(logits)], cache);
    const t2 = performance.now();
    return {
      prefill_tps: o.promptTokens / ((t1 - t0) / 1000),
      decode_tps: o.genTokens / ((t2 - t1) / 1000),
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
