import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Checkpoint } from '../../src/formats/checkpoint.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { writeLlama2cModel } from '../../src/formats/writers/llama2c-writer.js';
import { logicalModelFromCheckpoint } from '../../src/formats/writers/logical-from-checkpoint.js';
import { Model } from '../../src/model/model.js';
import { maxRelError } from '../helpers/reference-forward.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-convert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const prompt = [1, 403, 407, 261, 378, 9, 65, 300, 411, 280, 47, 23];
const logits = (ck: Checkpoint) => {
  const m = Model.fromCheckpoint(ck);
  return m.forward(prompt, m.newCache(), { allLogits: true });
};

// The strongest check of the rope permutations: a converted model must compute the same function.
test('real models converted between formats give the same logits (llama2.c ⇄ HF ⇄ GGUF, rope layouts permuted)', { skip: needsExtraModels }, () => {
  const bin = loadCheckpoint(modelPath('stories260K/stories260K.bin'));
  const ref = logits(bin);
  const logical = logicalModelFromCheckpoint(bin);
  writeHfModel(join(dir, 'hf'), logical);
  writeGgufModel(join(dir, 'm.gguf'), logical);
  writeLlama2cModel(join(dir, 'm.bin'), logical);
  const hf = loadCheckpoint(join(dir, 'hf'));
  assert.equal(hf.config.ropeLayout, 'half');
  for (const path of [join(dir, 'hf'), join(dir, 'm.gguf'), join(dir, 'm.bin')]) {
    const err = maxRelError(logits(loadCheckpoint(path)), ref);
    assert.ok(err < 1e-5, `${path}: rel error ${err}`);
  }
  // The llama2.c round trip reproduces the original tensors bit for bit.
  const back = loadCheckpoint(join(dir, 'm.bin'));
  for (const [name, t] of bin.tensors) assert.deepEqual(Buffer.from(back.tensors.get(name)!.data), Buffer.from(t.data), name);

  const tiny = loadCheckpoint(modelPath('tinystories-656K'));
  const tinyRef = logits(tiny);
  writeGgufModel(join(dir, 'tiny.gguf'), logicalModelFromCheckpoint(tiny));
  const tinyGguf = loadCheckpoint(join(dir, 'tiny.gguf'));
  assert.equal(tinyGguf.config.ropeLayout, 'interleaved');
  assert.ok(maxRelError(logits(tinyGguf), tinyRef) < 1e-5);
  // Q8_0 changes the numbers a little, not the function.
  writeGgufModel(join(dir, 'tiny-q8.gguf'), logicalModelFromCheckpoint(tiny), { dtype: 'q8_0' });
  const q8 = maxRelError(logits(loadCheckpoint(join(dir, 'tiny-q8.gguf'))), tinyRef);
  assert.ok(q8 > 0 && q8 < 0.05, `q8_0 rel error ${q8}`);
});
