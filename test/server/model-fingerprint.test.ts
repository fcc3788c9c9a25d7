import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import { defaultModelPath } from '../../src/model/default-model.js';
import { loadModel } from '../../src/model/load-model.js';
import { Model } from '../../src/model/model.js';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { modelFingerprint } from '../../src/server/model-fingerprint.js';
import { loadStories } from '../helpers/stories260k.js';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';

test('the model fingerprint: the same for the same weights loaded twice or on another backend, different for another model, another dtype or one changed weight', async () => {
  const loaded = await loadModel(defaultModelPath());
  const a = loaded.model;
  const again = (await loadModel(defaultModelPath())).model;
  assert.match(modelFingerprint(a), /^sha256:[0-9a-f]{64}$/);
  assert.equal(modelFingerprint(again), modelFingerprint(a));
  assert.notEqual(modelFingerprint((await loadStories()).model), modelFingerprint(a));
  // The same config with one embedding byte changed.
  const ckpt = loaded.checkpoint;
  const embed = ckpt.tensors.get(TENSOR_NAMES.embed)!;
  const changed = new Map(ckpt.tensors).set(TENSOR_NAMES.embed, { ...embed, data: Uint8Array.from(embed.data, (b, i) => (i === 0 ? b ^ 1 : b)) });
  assert.notEqual(modelFingerprint(Model.fromCheckpoint({ ...ckpt, tensors: changed })), modelFingerprint(a));
  ensureKernelsBuilt();
  const wasm = await createWasmBackend({ threads: 1 });
  const f16 = await createWasmBackend({ threads: 1, dtype: 'f16' });
  try {
    assert.equal(modelFingerprint((await loadModel(defaultModelPath(), { backend: wasm })).model), modelFingerprint(a), 'the same bytes on the WebAssembly kernels');
    assert.notEqual(modelFingerprint((await loadModel(defaultModelPath(), { backend: f16 })).model), modelFingerprint(a), 'the weights converted to f16');
  } finally {
    wasm.dispose();
    f16.dispose();
  }
});
