import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogicalModel } from '../../src/formats/writers/logical-model.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { BOS, EOS, tokenizerConfigJson, tokenizerJson } from './char-vocab.js';
import { headDim, type TinyConfig } from './tiny-config.js';
import { isLinear, type Params } from './tf-model.js';

export function modelConfig(c: TinyConfig): ModelConfig {
  return {
    arch: 'llama',
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    headDim: headDim(c),
    vocabSize: c.vocabSize,
    maxSeqLen: c.maxSeqLen,
    normEps: c.normEps,
    ropeTheta: c.ropeTheta,
    ropeLayout: 'half',
    qkvBias: false,
    tiedEmbeddings: true,
    bosId: BOS,
    eosIds: [EOS],
  };
}

/** The trained parameters as HF tensors: linear maps transposed back to [out, in]. */
export function logicalModel(params: Params, c: TinyConfig): LogicalModel {
  const tensors: LogicalModel['tensors'] = new Map();
  for (const [name, v] of params) {
    const data = v.dataSync() as Float32Array;
    if (!isLinear(name)) {
      tensors.set(name, { shape: [...v.shape], data: Float32Array.from(data) });
      continue;
    }
    const [rows, cols] = v.shape as [number, number];
    const t = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) t[k * rows + r] = data[r * cols + k]!;
    tensors.set(name, { shape: [cols, rows], data: t });
  }
  return { config: modelConfig(c), tensors };
}

/** Writes an HF model directory (config.json, model.safetensors, tokenizer files, and the model card when given). */
export function exportModel(dir: string, params: Params, c: TinyConfig, card?: string): void {
  mkdirSync(dir, { recursive: true });
  writeHfModel(dir, logicalModel(params, c), { dtype: 'f32' });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()) + '\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(), null, 2) + '\n');
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: BOS, eos_token_id: EOS }, null, 2) + '\n');
  if (card !== undefined) writeFileSync(join(dir, 'README.md'), card);
}
