import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { loadModel } from '../../src/model/load-model.js';
import { maxRelError } from '../helpers/reference-forward.js';
import { storiesCases, storiesDir } from '../helpers/stories260k.js';

const dir = storiesDir;
const cases = storiesCases;

for (const [label, file] of [
  ['llama2.c .bin', 'stories260K.bin'],
  ['GGUF', 'stories260K.gguf'],
] as const) {
  test(`stories260K (${label}) reproduces run.c: prompt ids, first-step logits ≤1e-4, 64 greedy tokens`, async () => {
    const { model, tokenizer } = await loadModel(dir + file, { tokenizerPath: dir + 'tok512.bin' });
    for (const c of cases) {
      const session = new Session(model, tokenizer);
      assert.deepEqual(tokenizer.encode(c.prompt, { addBos: true }), c.prompt_ids, `ids of ${JSON.stringify(c.prompt)}`);
      const logits = session.prefill(c.prompt);
      assert.ok(maxRelError(logits, c.first_step_logits) < 1e-4, `first-step logits of ${JSON.stringify(c.prompt)}`);
      const ids: number[] = [];
      let text = '';
      for await (const t of session.generate({ maxTokens: 64 })) {
        if (t.id >= 0) ids.push(t.id);
        text += t.text;
      }
      assert.deepEqual(ids, c.generated_ids, `greedy ids after ${JSON.stringify(c.prompt)}`);
      assert.equal(text, c.generated_text);
    }
  });
}
