import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm-backend.js';
import { loadModel } from '../../src/model/load-model.js';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';
import { modelPath } from '../helpers/model-files.js';

const dir = modelPath('stories260K/');
const reference = JSON.parse(readFileSync(dir + 'reference.json', 'utf8')) as {
  cases: { prompt_ids: number[]; generated_ids: number[]; first_step_logits: number[] }[];
};

let backend: WasmBackend;
before(async () => {
  ensureKernelsBuilt();
  backend = await createWasmBackend({ threads: 2 });
});
after(() => backend.dispose());

for (const file of ['stories260K.gguf', 'stories260K.bin']) {
  test(`stories260K (${file}) on the wasm backend: weights read in place, llama2.c's logits and greedy tokens`, async () => {
    const used = backend.memoryBytes;
    const { model } = await loadModel(dir + file, { backend, tokenizerPath: dir + 'tok512.bin' });
    const wq = model.weights.layers[0]!.wq;
    assert.ok(wq.data.buffer instanceof SharedArrayBuffer, 'weights live in wasm memory');
    // The file was read into wasm memory once; prepare() added no second copy of the weights.
    assert.ok(backend.memoryBytes - used < readFileSync(dir + file).byteLength * 1.1);
    for (const c of reference.cases.slice(0, 2)) {
      const cache = model.newCache();
      let logits = model.forward(c.prompt_ids, cache);
      let maxErr = 0;
      let maxRef = 0;
      c.first_step_logits.forEach((r, i) => {
        maxErr = Math.max(maxErr, Math.abs(logits[i]! - r));
        maxRef = Math.max(maxRef, Math.abs(r));
      });
      assert.ok(maxErr / maxRef < 1e-5, `first-step logits off by ${maxErr / maxRef}`);
      const got: number[] = [];
      for (const _ of c.generated_ids) {
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
        got.push(best);
        logits = model.forward([best], cache);
      }
      assert.deepEqual(got, c.generated_ids);
    }
  });
}
