import { benchPrompt, peakRssMb, type Throughput, type ThroughputOptions } from './throughput.js';

/**
 * The same measurement with node-llama-cpp (a devDependency, loaded only here) on CPU: the prompt
 * as one batch, then greedy decoding of `genTokens` tokens, after the same kind of warm-up.
 */
export async function measureLlamaCpp(path: string, o: ThroughputOptions, vocabSize: number): Promise<Throughput> {
  let lib: typeof import('node-llama-cpp');
  try {
    lib = await import('node-llama-cpp');
  } catch {
    throw new Error('--vs-llamacpp needs node-llama-cpp (npm install --save-dev node-llama-cpp@3.21.1)');
  }
  const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error, maxThreads: o.threads });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: o.promptTokens + o.genTokens + 32,
    batchSize: o.promptTokens,
    threads: { ideal: o.threads, min: o.threads },
    sequences: 1,
  });
  try {
    const seq = context.getSequence();
    const prompt = benchPrompt(o.promptTokens, vocabSize) as import('node-llama-cpp').Token[];
    await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 16));
    let warm = 0;
    for await (const _ of seq.evaluate([prompt[16]!], { temperature: 0 })) if (++warm === 4) break;
    await seq.clearHistory();

    const t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
    const t1 = performance.now();
    let generated = 0;
    // The first step evaluates the prompt's last token, like kvtrim's first decode step after its prefill.
    if (o.genTokens > 0) for await (const _ of seq.evaluate([prompt[prompt.length - 1]!], { temperature: 0 })) if (++generated === o.genTokens) break;
    const t2 = performance.now();
    return {
      prefill_tps: (o.promptTokens - 1) / ((t1 - t0) / 1000),
      decode_tps: generated / ((t2 - t1) / 1000),
      peak_rss_mb: peakRssMb(),
    };
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}
