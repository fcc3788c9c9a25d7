// `npm run bench:sparse`: a random-weight SmolLM2-135M-shaped model written as GGUF three times —
// dense, 2:4 and 50 % unstructured (magnitude-pruned, stored in kvtrim's sparse encoding) — and, in
// the same run, each file's weight bytes against the dense file and its decode tok/s at 1 and 2
// threads, each measurement in a fresh child process. Flags: --layers 4 for a quick check,
// --dtypes f16,q8_0, --threads 1,2, --gen-tokens, --prompt-tokens.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { summarizeCheckpoint, summarizeMatrices } from '../src/formats/checkpoint-summary.js';
import { TENSOR_NAMES } from '../src/formats/checkpoint.js';
import { loadCheckpoint } from '../src/formats/load-checkpoint.js';
import type { DType } from '../src/formats/tensor.js';
import { writeGgufModel } from '../src/formats/writers/gguf-writer.js';
import type { LogicalModel } from '../src/formats/writers/logical-model.js';
import { measureEngine } from '../src/bench/measure.js';
import { magnitudePrune } from '../src/prune/magnitude.js';
import { sparseLayoutOf, type SparsityPattern } from '../src/prune/sparsity-pattern.js';
import { BENCH_SHAPES, randomWeights, syntheticVocab } from './bench-models.js';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const opts = new Command('bench:sparse')
  .option('--layers <n>', 'transformer layers (SmolLM2-135M has 30)', Number, 30)
  .option('--dtypes <list>', 'value dtypes of the matrices', list, ['f16'])
  .option('--threads <list>', 'thread counts', list, ['1', '2'])
  .option('--prompt-tokens <n>', 'prompt length', Number, 32)
  .option('--gen-tokens <n>', 'decode steps', Number, 128)
  .parse(process.argv)
  .opts<{ layers: number; dtypes: DType[]; threads: string[]; promptTokens: number; genTokens: number }>();

const config = { ...BENCH_SHAPES['smollm2-135m']!, nLayers: opts.layers };
const VARIANTS: { label: string; pattern?: SparsityPattern }[] = [
  { label: 'dense' },
  { label: '2:4', pattern: { kind: 'nm', n: 2, m: 4 } },
  { label: '50% unstr.', pattern: { kind: 'unstructured', sparsity: 0.5 } },
];

/** The random model with every transformer matrix magnitude-pruned and marked sparse (embedding and norms untouched). */
function pruned(base: LogicalModel, pattern: SparsityPattern): LogicalModel {
  const tensors: LogicalModel['tensors'] = new Map();
  for (const [name, t] of base.tensors) {
    if (!/\.layers\.\d+\..*_proj\.weight$/.test(name)) {
      tensors.set(name, t);
      continue;
    }
    const [rows, cols] = t.shape as [number, number];
    const w = Float64Array.from(t.data);
    magnitudePrune(w, rows, cols, pattern);
    tensors.set(name, { shape: t.shape, data: Float32Array.from(w), sparse: sparseLayoutOf(pattern) });
  }
  return { config: base.config, tensors };
}

/** The GGUF of one variant, written on first use (cached in the temp dir). */
function variantPath(dtype: DType, v: (typeof VARIANTS)[number], base: () => LogicalModel): string {
  const dir = join(tmpdir(), 'kvtrim-bench');
  const path = join(dir, `sparse-smollm2-135m-${opts.layers}l-${dtype}-${v.label.replace(/[^a-z0-9]/gi, '')}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  writeGgufModel(`${path}.partial`, v.pattern ? pruned(base(), v.pattern) : base(), { dtype, vocab: syntheticVocab(config.vocabSize), name: `smollm2-135m-random-${v.label}` });
  renameSync(`${path}.partial`, path);
  return path;
}

let baseModel: LogicalModel | undefined;
const base = () => (baseModel ??= randomWeights(config, 42));
const matrixBytes = (path: string) => summarizeMatrices(loadCheckpoint(path)).filter((m) => m.name !== TENSOR_NAMES.embed && m.name !== TENSOR_NAMES.lmHead).reduce((s, m) => s + m.bytes, 0);
const fmt = (x: number, d = 1) => x.toFixed(d);

console.log(`SmolLM2-135M-shaped random model, ${opts.layers} layers; prompt ${opts.promptTokens} tokens, ${opts.genTokens} decode steps; load average ${fmt(loadavg()[0]!, 2)} at start`);
for (const dtype of opts.dtypes) {
  const rows = VARIANTS.map((v) => {
    const path = variantPath(dtype, v, base);
    return { v, path, weights: summarizeCheckpoint(loadCheckpoint(path)).weightBytes, matrices: matrixBytes(path), decode: new Map<number, number>() };
  });
  for (const r of rows)
    for (const t of opts.threads) {
      const threads = Number(t);
      r.decode.set(threads, (await measureEngine('kvtrim', r.path, { threads, promptTokens: opts.promptTokens, genTokens: opts.genTokens })).decode_tps);
    }
  const dense = rows[0]!;
  const best = (r: (typeof rows)[number]) => Math.max(...r.decode.values());
  console.log(`\n${dtype}: variant    weights MB  ×dense  layer matrices ×dense | ${opts.threads.map((t) => `decode ${t} thr`.padStart(14)).join('')} | best ×dense`);
  for (const r of rows)
    console.log(
      `${''.padEnd(dtype.length + 2)}${r.v.label.padEnd(11)}${fmt(r.weights / 1e6).padStart(10)}${fmt(r.weights / dense.weights, 3).padStart(8)}${fmt(r.matrices / dense.matrices, 3).padStart(22)} | ` +
        `${opts.threads.map((t) => fmt(r.decode.get(Number(t))!).padStart(14)).join('')} | ${fmt(best(r) / best(dense), 2).padStart(11)}`,
    );
}
