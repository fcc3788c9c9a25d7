import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { writeLlama2cModel } from '../../src/formats/writers/llama2c-writer.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { maxRelError, referenceLogits } from '../helpers/reference-forward.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-three-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tokens = [1, 4, 17, 30, 2, 9, 9, 33, 12, 5];

function logitsOf(path: string): Float32Array {
  const m = Model.fromCheckpoint(loadCheckpoint(path));
  return m.forward(tokens, m.newCache(), { allLogits: true });
}

const variants: [string, Partial<ModelConfig>, ('hf' | 'gguf' | 'bin')[]][] = [
  ['GQA, tied', { maxSeqLen: 32 }, ['hf', 'gguf', 'bin']],
  ['MHA, untied lm_head', { nKvHeads: 4, tiedEmbeddings: false, maxSeqLen: 32 }, ['hf', 'gguf', 'bin']],
  ['qwen2 qkv bias', { arch: 'qwen2', qkvBias: true, ropeTheta: 1e6, maxSeqLen: 32 }, ['hf', 'gguf']],
];

for (const [name, over, formats] of variants) {
  test(`one random model written as ${formats.join(', ')} loads to identical logits, equal to the float64 reference (${name})`, () => {
    const lm = randomModel(tinyConfig(over), 11);
    const paths = { hf: join(dir, `${name}-hf`), gguf: join(dir, `${name}.gguf`), bin: join(dir, `${name}.bin`) };
    if (formats.includes('hf')) writeHfModel(paths.hf, lm);
    if (formats.includes('gguf')) writeGgufModel(paths.gguf, lm);
    if (formats.includes('bin')) writeLlama2cModel(paths.bin, lm);
    const ref = referenceLogits(lm, tokens);
    const V = lm.config.vocabSize;
    const base = logitsOf(paths[formats[0]!]);
    for (const f of formats) {
      const l = logitsOf(paths[f]);
      assert.ok(maxRelError(l, base) < 1e-5, `${f} vs ${formats[0]}`);
      for (let t = 0; t < tokens.length; t++) assert.ok(maxRelError(l.subarray(t * V, (t + 1) * V), ref[t]!) < 1e-4, `${f} row ${t} vs float64 reference`);
    }
  });
}
