import { modelTensors, type Checkpoint } from '../../src/formats/checkpoint.js';
import type { RawTensor } from '../../src/formats/tensor.js';
import type { LogicalModel } from '../../src/formats/writers/logical-model.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { mulberry32 } from './mulberry32.js';

export type { LogicalModel };

export function tinyConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    arch: 'llama',
    dim: 24,
    hiddenDim: 40,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    headDim: 6,
    vocabSize: 37,
    maxSeqLen: 64,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'half',
    qkvBias: false,
    tiedEmbeddings: true,
    bosId: 1,
    eosIds: [2],
    ...over,
  };
}

/** Deterministic pseudo-random float32 tensors. */
export function randomModel(config: ModelConfig, seed = 1, scale = 0.3): LogicalModel {
  const rand = mulberry32(seed);
  const tensors: LogicalModel['tensors'] = new Map();
  for (const { name, shape, norm } of modelTensors(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = norm ? 1 + (rand() - 0.5) * 0.2 : (rand() * 2 - 1) * scale;
    tensors.set(name, { shape, data });
  }
  return { config, tensors };
}

/** The logical model as an in-memory f32 checkpoint (no file format involved). */
export function toCheckpoint(m: LogicalModel): Checkpoint {
  const tensors = new Map<string, RawTensor>();
  for (const [name, t] of m.tensors) tensors.set(name, { name, dtype: 'f32', shape: t.shape, data: new Uint8Array(t.data.buffer.slice(0)) });
  return { source: 'memory', format: 'safetensors', config: m.config, tensors, metadata: {} };
}
