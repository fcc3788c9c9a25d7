import { benchPrompt, peakRssMb, type Throughput, type ThroughputOptions } from './throughput.js';

/**
 * The same measurement with node-llama-cpp (a devDependency, loaded only here) on CPU: the prompt
 * as one batch, then greedy decoding of `genTokens` tokens, after the same kind of warm-up. With
 * `batch` > 1, that many sequences of one context are prefilled one after another and then decode
 * concurrently, which node-llama-cpp evaluates together in one batch per step.
 */
export async function measureLlamaCpp(path: string, o: ThroughputOptions, vocabSize: number): Promise<Throughput> {
  let lib: typeof import('node-llama-cpp');
  try {
    lib = await import('node-llama-cpp');
  } catch {
    throw new Error('--vs-llamacpp needs node-llama-cpp (npm install --save-dev node-llama-cpp@3.21.1)');
  }
  const batch = o.batch ?? 1;
  const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error, maxThreads: o.threads });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: batch * (o.promptTokens + o.genTokens + 32),
    batchSize: Math.max(o.promptTokens, batch),
    threads: { ideal: o.threads, min: o.threads },
    sequences: batch,
  });
  try {
    const seqs = Array.from({ length: batch }, () => context.getSequence());
    const prompts = seqs.map((_, s) => benchPrompt(o.promptTokens, vocabSize, s) as import('node-llama-cpp').Token[]);
    const first = seqs[0]!;
    await first.evaluateWithoutGeneratingNewTokens(prompts[0]!.slice(0, 16));
    let warm = 0;
    for await (const _ of first.evaluate([prompts[0]![16]!], { temperature: 0 })) if (++warm === 4) break;
    await first.clearHistory();

    const t0 = performance.now();
    for (const [s, seq] of seqs.entries()) await seq.evaluateWithoutGeneratingNewTokens(prompts[s]!.slice(0, -1));
    const t1 = performance.now();
    let generated = 0;
    // The first step evaluates the prompt's last token, like kvtrim's first decode step after its prefill.
    const decode = async (s: number) => {
      let own = 0;
      if (o.genTokens > 0) for await (const _ of seqs[s]!.evaluate([prompts[s]!.at(-1)!], { temperature: 0 })) if ((generated++, ++own === o.genTokens)) break;
    };
    await Promise.all(seqs.map((_, s) => decode(s)));
    const t2 = performance.now();
    return {
      prefill_tps: (batch * (o.promptTokens - 1)) / ((t1 - t0) / 1000),
      decode_tps: generated / ((t2 - t1) / 1000),
      step_ms: (t2 - t1) / o.genTokens,
      peak_rss_mb: peakRssMb(),
    };
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}
