import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelTensors } from '../src/formats/checkpoint.js';
import type { DType } from '../src/formats/tensor.js';
import { writeGgufModel, type GgufVocab } from '../src/formats/writers/gguf-writer.js';
import type { QuantMix } from '../src/formats/writers/quant-mix.js';
import type { LogicalModel } from '../src/formats/writers/logical-model.js';
import { Rng } from '../src/generate/rng.js';
import type { ModelConfig } from '../src/formats/model-config.js';

const common = { maxSeqLen: 2048, normEps: 1e-5, ropeLayout: 'half', tiedEmbeddings: true, bosId: 1, eosIds: [2] } as const;

/** Shapes of the released models the benchmark stands in for (random weights, same sizes). */
export const BENCH_SHAPES: Record<string, ModelConfig> = {
  'smollm2-135m': { ...common, eosIds: [2], arch: 'llama', dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, headDim: 64, vocabSize: 49152, ropeTheta: 100000, qkvBias: false },
  'qwen2.5-0.5b': { ...common, eosIds: [2], arch: 'qwen2', dim: 896, hiddenDim: 4864, nLayers: 24, nHeads: 14, nKvHeads: 2, headDim: 64, vocabSize: 151936, ropeTheta: 1000000, qkvBias: true },
};

/** A SentencePiece-style vocabulary of n made-up pieces (control, byte and normal tokens) that llama.cpp accepts. */
export function syntheticVocab(n: number): GgufVocab {
  const tokens = ['<unk>', '<s>', '</s>'];
  const tokenTypes = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    tokenTypes.push(6);
  }
  while (tokens.length < n) {
    tokens.push(`▁t${tokens.length}`);
    tokenTypes.push(1);
  }
  return { model: 'llama', tokens, tokenTypes, scores: tokens.map((_, i) => -i) };
}

/** Weights ~ U(−a, a) with a = 1/√fan_in (norms near 1), so activations stay in a sane range over many layers. */
export function randomWeights(c: ModelConfig, seed: number): LogicalModel {
  const rng = new Rng(seed);
  const rand = () => rng.next();
  const tensors: LogicalModel['tensors'] = new Map();
  for (const { name, shape, norm } of modelTensors(c)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const a = norm ? 0.1 : 1 / Math.sqrt(shape[shape.length - 1]!);
    for (let i = 0; i < data.length; i++) data[i] = (norm ? 1 : 0) + (rand() * 2 - 1) * a;
    tensors.set(name, { shape, data });
  }
  return { config: c, tensors };
}

/** Path of the benchmark GGUF for a shape and dtype, written with the project's writer on first use (cached in the temp dir). */
export function benchModelPath(shape: string, dtype: DType | QuantMix, dir = join(tmpdir(), 'kvtrim-bench')): string {
  const config = BENCH_SHAPES[shape];
  if (!config) throw new Error(`unknown bench shape ${shape}`);
  const path = join(dir, `${shape}-${dtype}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const partial = `${path}.partial`;
  writeGgufModel(partial, randomWeights(config, 42), { dtype, vocab: syntheticVocab(config.vocabSize), name: `${shape}-random` });
  renameSync(partial, path);
  return path;
}
