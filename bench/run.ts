// `npm run bench`: random-weight SmolLM2-135M- and Qwen2.5-0.5B-shaped GGUF models (F32, F16,
// Q8_0, Q4_K_M, Q6_K) written by the project's own writer, kvtrim vs node-llama-cpp on each file
// at 1 and 2 threads, one table. Each row follows the 1-minute load average it started under and
// is marked * when that was above 0.5 (another process held a core: the figures mean little). Flags narrow the grid: --shapes smollm2-135m --dtypes f32,q8_0 --threads 1,2;
// --native-gemm measures kvtrim's prefill on onnxruntime-node's GEMM instead of its own WebAssembly GEMM.
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Command } from 'commander';
import { compareEngines, type Comparison } from '../src/bench/measure.js';
import { createWasmBackend } from '../src/kernels/wasm-backend.js';
import type { DType } from '../src/formats/tensor.js';
import type { QuantMix } from '../src/formats/writers/quant-mix.js';
import { BENCH_SHAPES, benchModelPath } from './bench-models.js';


const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const opts = new Command('bench')
  .option('--shapes <list>', 'model shapes', list, Object.keys(BENCH_SHAPES))
  .option('--dtypes <list>', 'weight dtypes (q4_k_m: llama-quantize\'s Q4_K_M mix)', list, ['f32', 'f16', 'q8_0', 'q4_k_m', 'q6_k'])
  .option('--threads <list>', 'thread counts', list, ['1', '2'])
  .option('--prompt-tokens <n>', 'prompt length', Number, 512)
  .option('--gen-tokens <n>', 'decode steps', Number, 128)
  .option('--native-gemm', 'kvtrim prefill on onnxruntime-node\'s GEMM when installed')
  .option('--batches <list>', 'sequences decoding together for the batch table (SmolLM2-135M shape, F32 and Q8_0)', list, ['1', '4', '16'])
  .parse(process.argv)
  .opts<{ shapes: string[]; dtypes: (DType | QuantMix)[]; threads: string[]; promptTokens: number; genTokens: number; nativeGemm: boolean; batches: string[] }>();

/** Rows measured above this 1-minute load average are marked: a busy core skews both engines. */
const QUIET_LOAD = 0.5;

interface Row {
  shape: string;
  dtype: DType | QuantMix;
  /** 1-minute load average just before the row was measured. */
  load: number;
  threads: number;
  mb: number;
  r: Comparison;
  /** Read bandwidth measured at this thread count (GB/s): decode streams every weight once per token. */
  gbs: number;
}
const rows: Row[] = [];
const fmt = (x: number | undefined, d = 1) => (x === undefined ? '—' : x.toFixed(d));
const header = 'model          dtype   thr | kvtrim prefill decode  RSS MB | llama.cpp prefill decode  RSS MB | ratio prefill decode | decode / ceiling';
const line = ({ shape, dtype, threads, mb, r, gbs, load }: Row) =>
  `${shape.padEnd(14)} ${dtype.padEnd(6)} ${String(threads).padStart(3)}${load > QUIET_LOAD ? '*' : ' '}| ${fmt(r.kvtrim.prefill_tps).padStart(14)} ${fmt(r.kvtrim.decode_tps).padStart(6)} ${fmt(r.kvtrim.peak_rss_mb, 0).padStart(7)} | ${fmt(r.llamacpp?.prefill_tps).padStart(17)} ${fmt(r.llamacpp?.decode_tps).padStart(6)} ${fmt(r.llamacpp?.peak_rss_mb, 0).padStart(7)} | ${fmt(r.ratio?.prefill, 2).padStart(13)} ${fmt(r.ratio?.decode, 2).padStart(6)} | ${fmt(r.kvtrim.decode_tps / ((gbs * 1e3) / mb), 2).padStart(6)} of ${fmt((gbs * 1e3) / mb, 0)} tok/s (${fmt(gbs)} GB/s)`;

// The decode ceiling uses this machine's measured read bandwidth, per thread count.
const bandwidth = new Map<number, number>();
for (const t of opts.threads) {
  const probe = await createWasmBackend({ threads: Number(t), nativeGemm: false });
  bandwidth.set(Number(t), probe.readBandwidth());
  probe.dispose();
}
console.log(header);
for (const shape of opts.shapes)
  for (const dtype of opts.dtypes) {
    const path = benchModelPath(shape, dtype);
    const mb = statSync(path).size / 1e6;
    for (const t of opts.threads) {
      const threads = Number(t);
      const load = loadavg()[0]!;
      console.log(`load average ${load.toFixed(2)}${load > QUIET_LOAD ? ` (above ${QUIET_LOAD}: the next row is marked *)` : ''}`);
      const r = await compareEngines(path, { threads, promptTokens: opts.promptTokens, genTokens: opts.genTokens, nativeGemm: opts.nativeGemm }, true);
      rows.push({ shape, dtype, load, threads, mb, r, gbs: bandwidth.get(threads)! });
      console.log(line(rows[rows.length - 1]!));
    }
  }

// Best thread count per engine, as the bar compares them.
console.log('\nat each engine\'s best thread count:');
for (const shape of opts.shapes)
  for (const dtype of opts.dtypes) {
    const rs = rows.filter((x) => x.shape === shape && x.dtype === dtype);
    const best = (f: (r: Comparison) => number | undefined) => Math.max(...rs.map((x) => f(x.r) ?? 0));
    const pk = best((r) => r.kvtrim.prefill_tps);
    const pl = best((r) => r.llamacpp?.prefill_tps);
    const dk = best((r) => r.kvtrim.decode_tps);
    const dl = best((r) => r.llamacpp?.decode_tps);
    const ceiling = (Math.max(...bandwidth.values()) * 1e3) / (rs[0]?.mb ?? NaN);
    const busy = rs.some((x) => x.load > QUIET_LOAD) ? ' * measured above load average 0.5' : '';
    console.log(`${shape.padEnd(14)} ${dtype.padEnd(6)} prefill ${fmt(pk)} vs ${fmt(pl)} (${fmt(pk / pl, 2)}×)   decode ${fmt(dk)} vs ${fmt(dl)} (${fmt(dk / dl, 2)}×), ceiling ${fmt(ceiling)} tok/s (${fmt(ceiling / dk, 2)}× above kvtrim)${busy}`);
  }

// Batched decoding: aggregate decode tok/s of N sequences (each its own 128-token prompt and cache)
// against one, and against node-llama-cpp with N sequences of one context, same file, same run.
const batchShape = 'smollm2-135m';
if (opts.batches.length > 0 && opts.shapes.includes(batchShape)) {
  console.log(`\nbatched decode, ${batchShape}: aggregate tok/s (all sequences' tokens ÷ wall time), ms per step`);
  console.log('dtype   thr  batch | kvtrim tok/s  ms/step  × batch 1 | llama.cpp tok/s  ms/step  × batch 1 | ratio');
  for (const dtype of (['f32', 'q8_0'] as const).filter((d) => opts.dtypes.includes(d))) {
    const path = benchModelPath(batchShape, dtype);
    for (const t of opts.threads) {
      let one: Comparison | undefined;
      for (const b of opts.batches) {
        const load = loadavg()[0]!;
        const r = await compareEngines(path, { threads: Number(t), promptTokens: 128, genTokens: 32, batch: Number(b), nativeGemm: opts.nativeGemm }, true);
        one ??= r;
        console.log(
          `${dtype.padEnd(6)} ${t.padStart(4)}${load > QUIET_LOAD ? '*' : ' '} ${b.padStart(5)} | ${fmt(r.kvtrim.decode_tps).padStart(12)} ${fmt(r.kvtrim.step_ms).padStart(8)} ${fmt(r.kvtrim.decode_tps / one.kvtrim.decode_tps, 2).padStart(10)} | ${fmt(r.llamacpp?.decode_tps).padStart(15)} ${fmt(r.llamacpp?.step_ms).padStart(8)} ${fmt((r.llamacpp?.decode_tps ?? NaN) / (one.llamacpp?.decode_tps ?? NaN), 2).padStart(10)} | ${fmt(r.ratio?.decode, 2).padStart(5)}`,
        );
      }
    }
  }
}
