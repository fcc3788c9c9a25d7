import { chmodSync, copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TENSOR_NAMES, type Checkpoint } from '../formats/checkpoint.js';
import { matrixToFloat32, type SparseLayout } from '../formats/sparse-matrix.js';
import { elementCount, type DType } from '../formats/tensor.js';
import { writeHfModel } from '../formats/writers/hf-writer.js';
import type { LogicalModel } from '../formats/writers/logical-model.js';
import { interleavedToHalf } from '../formats/writers/rope-permute.js';
import { toFloat32 } from '../formats/dequant.js';
import { llama2cTokenizerBeside } from '../tokenizer/load-tokenizer.js';

/** Tokenizer and generation files of an HF directory that travel with its weights. */
const HF_SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

export interface WrittenModel {
  /** Files written into the output directory. */
  files: string[];
  /** How to load the result when its tokenizer cannot be found automatically. */
  note?: string;
}

export interface PrunedWriteOptions {
  tokenizerPath?: string;
  /** Store the pruned matrices in this sparse layout (docs/sparse-format.md); without it they are dense with zeros, readable by any tool. */
  sparse?: SparseLayout;
  /** Pruned matrices quantised while they were pruned, their bytes by name (the float values in `pruned` are what they decode to). */
  quantized?: ReadonlyMap<string, { dtype: DType; bytes: Uint8Array }>;
}

/**
 * Writes `checkpoint` with the pruned matrices replaced as an HF directory (config.json +
 * model.safetensors, in the source's dtype when it is f16/bf16, else f32), q/k rows in the HF
 * half-split layout, plus the tokenizer: tokenizer.json and friends from an HF source, or a llama2.c
 * tokenizer copied as tokenizer.bin (the loader finds it there). With `sparse`, each pruned matrix
 * is a sparse blob (of its quantised bytes when it has them); safetensors holds no q8_0/q4_0 dense,
 * so without `sparse` quantised matrices are written as their float values, in f32 (exact).
 */
export function writePrunedModel(checkpoint: Checkpoint, pruned: ReadonlyMap<string, Float32Array>, outDir: string, opts: PrunedWriteOptions = {}): WrittenModel {
  checkOutputDir(outDir);
  const c = checkpoint.config;
  const tensors: LogicalModel['tensors'] = new Map();
  const dtypes = new Set<string>();
  for (const [name, t] of checkpoint.tensors) {
    dtypes.add(t.dtype);
    const values = pruned.get(name);
    if (!values) {
      const data = t.sparse && t.shape.length === 2 ? matrixToFloat32({ rows: t.shape[0]!, cols: t.shape[1]!, dtype: t.dtype, data: t.data, sparse: t.sparse }) : toFloat32(t.dtype, t.data, elementCount(t.shape));
      tensors.set(name, { shape: t.shape, data });
      continue;
    }
    const stored = opts.quantized?.get(name);
    tensors.set(name, { shape: t.shape, data: values, ...(stored ? { stored: { ...stored } } : {}), ...(opts.sparse ? { sparse: opts.sparse } : {}) });
  }
  if (c.ropeLayout === 'interleaved')
    for (let l = 0; l < c.nLayers; l++) {
      const n = TENSOR_NAMES.layer(l);
      for (const [name, heads] of [[n.wq, c.nHeads], [n.wk, c.nKvHeads], [n.bq, c.nHeads], [n.bk, c.nKvHeads]] as const) {
        const t = tensors.get(name);
        if (!t) continue;
        const rows = t.shape[0]!;
        t.data = interleavedToHalf(t.data, heads, c.headDim, t.data.length / rows);
        if (t.stored) t.stored.bytes = interleavedToHalf(t.stored.bytes, heads, c.headDim, t.stored.bytes.length / rows);
      }
    }
  // A q8_0 / q4_0 sparse blob is always smaller than the f16 dense matrix, so with `sparse` no
  // quantised value reaches a 16-bit dense fallback; without it they need f32.
  const keepsSource = dtypes.size === 1 && (dtypes.has('f16') || dtypes.has('bf16')) && (opts.sparse !== undefined || !opts.quantized?.size);
  const dtype = keepsSource ? ([...dtypes][0] as 'f16' | 'bf16') : 'f32';
  writeHfModel(outDir, { config: { ...c, ropeLayout: 'half' }, tensors }, { dtype });
  const files = ['config.json', 'model.safetensors'];
  const tokenizer = copyTokenizer(checkpoint, outDir, opts.tokenizerPath);
  files.push(...tokenizer.files);
  return { files, ...(tokenizer.note ? { note: tokenizer.note } : {}) };
}

/** The output must be new or an empty directory, so a pruned model never mixes with other files. */
export function checkOutputDir(outDir: string): void {
  if (existsSync(outDir) && (!statSync(outDir).isDirectory() || readdirSync(outDir).length > 0))
    throw new Error(`output ${outDir} exists and is not an empty directory`);
}

function copyTokenizer(checkpoint: Checkpoint, outDir: string, tokenizerPath: string | undefined): { files: string[]; note?: string } {
  const srcDir = statSync(checkpoint.source).isDirectory() ? checkpoint.source : dirname(checkpoint.source);
  const copy = (from: string, name: string) => {
    copyFileSync(from, join(outDir, name));
    chmodSync(join(outDir, name), 0o644); // the source may be read-only
    return name;
  };
  if (tokenizerPath !== undefined) {
    if (statSync(tokenizerPath).isDirectory()) return { files: HF_SIDE_FILES.filter((f) => existsSync(join(tokenizerPath, f))).map((f) => copy(join(tokenizerPath, f), f)) };
    if (tokenizerPath.endsWith('.json')) return { files: [copy(tokenizerPath, 'tokenizer.json')] };
    if (tokenizerPath.endsWith('.gguf')) return { files: [], note: `the tokenizer is the GGUF's vocabulary: load with --tokenizer ${tokenizerPath}` };
    return { files: [copy(tokenizerPath, 'tokenizer.bin')] };
  }
  switch (checkpoint.format) {
    case 'safetensors':
      return { files: HF_SIDE_FILES.filter((f) => existsSync(join(srcDir, f))).map((f) => copy(join(srcDir, f), f)) };
    case 'gguf':
      return { files: [], note: `the tokenizer is the GGUF's vocabulary: load with --tokenizer ${checkpoint.source}` };
    case 'llama2c': {
      const found = llama2cTokenizerBeside(srcDir);
      if (!found) return { files: [], note: `no llama2.c tokenizer beside ${checkpoint.source} to copy: load with --tokenizer <file>` };
      return { files: [copy(found, 'tokenizer.bin')] };
    }
  }
}
