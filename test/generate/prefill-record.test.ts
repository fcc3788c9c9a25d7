import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import { defaultModelPath } from '../../src/model/default-model.js';
import { loadModel } from '../../src/model/load-model.js';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';

ensureKernelsBuilt();
const backend = await createWasmBackend({ threads: 2, nativeGemm: false });
after(() => backend.dispose());
const { model, tokenizer } = await loadModel(defaultModelPath(), { backend });

const prompt = 'Once upon a time there was a little fox who lived near the big old tree and';

async function answer(s: Session): Promise<string> {
  let text = '';
  for await (const t of s.generate({ maxTokens: 24, temperature: 0 })) text += t.text;
  return text;
}

for (const compression of [undefined, { press: 'snapkv', ratio: 0.5 }, { press: 'h2o', ratio: 0.5 }])
  test(`a session derived from a recorded prefill answers as one prefilled directly, on the WebAssembly kernels (${compression?.press ?? 'no press'})`, async () => {
    const recorder = new Session(model, tokenizer);
    const rec = recorder.record(prompt);
    recorder.free();
    const derived = new Session(model, tokenizer, { compression });
    derived.prefill(prompt, { from: rec });
    const direct = new Session(model, tokenizer, { compression });
    direct.prefill(prompt);
    // The record keeps attention sums for presses that read them; a session that needs none drops them.
    const tracks = (s: Session) => s.cache.heads.flat().every((h) => h.attentionSums !== null);
    assert.equal(tracks(derived), tracks(direct));
    assert.equal(await answer(derived), await answer(direct));
    assert.equal(derived.cache.bytes(), direct.cache.bytes());
    for (const s of [derived, direct]) s.free();
    rec.cache.free();
  });
