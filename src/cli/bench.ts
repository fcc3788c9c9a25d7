import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { compareEngines } from '../bench/measure.js';
import type { Throughput } from '../bench/throughput.js';
import { countFlag } from './model-options.js';

interface BenchFlags {
  model: string;
  threads: number;
  promptTokens: number;
  genTokens: number;
  batch: number;
  vsLlamacpp?: boolean;
  nativeGemm: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('prefill and decode throughput and peak memory, optionally against node-llama-cpp on the same file')
    .requiredOption('--model <file>', 'model file (.gguf for --vs-llamacpp)')
    .option('--threads <n>', 'threads (default: cores)', countFlag('threads', 1), availableParallelism())
    .option('--prompt-tokens <n>', 'prompt length, prefilled as one batch', countFlag('prompt-tokens', 1), 512)
    .option('--gen-tokens <n>', 'greedy decode steps after the prompt', countFlag('gen-tokens', 1), 128)
    .option('--batch <n>', 'sequences decoding together, each its own prompt and cache (node-llama-cpp: sequences of one context)', countFlag('batch', 1), 1)
    .option('--vs-llamacpp', 'also run node-llama-cpp (CPU) on the same file, and print ratios')
    .option('--native-gemm', 'kvtrim: run prefill products on onnxruntime-node\'s GEMM when installed')
    .option('--json', 'print the result as one JSON object on the last line')
    .action(async (f: BenchFlags) => {
      const r = await compareEngines(f.model, { threads: f.threads, promptTokens: f.promptTokens, genTokens: f.genTokens, batch: f.batch, nativeGemm: f.nativeGemm }, f.vsLlamacpp ?? false);
      if (f.json) {
        console.log(JSON.stringify(r));
        return;
      }
      const line = (name: string, t: Throughput) =>
        `${name.padEnd(10)} prefill ${t.prefill_tps.toFixed(1).padStart(8)} tok/s   decode ${t.decode_tps.toFixed(1).padStart(7)} tok/s (${t.step_ms.toFixed(1)} ms/step)   peak RSS ${t.peak_rss_mb.toFixed(0).padStart(6)} MB`;
      console.log(`${f.model}, ${f.threads} thread(s), ${f.batch} sequence(s), prompt ${f.promptTokens}, generate ${f.genTokens}${f.batch > 1 ? ' each (decode tok/s: all sequences)' : ''}`);
      console.log(line('kvtrim', r.kvtrim));
      if (r.llamacpp) console.log(line('llama.cpp', r.llamacpp));
      if (r.ratio) console.log(`ratio      prefill ${r.ratio.prefill.toFixed(2)}×          decode ${r.ratio.decode.toFixed(2)}×`);
    });
}
