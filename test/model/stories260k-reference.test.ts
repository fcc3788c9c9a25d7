import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { loadModel } from '../../src/model/load-model.js';
import { maxRelError } from '../helpers/reference-forward.js';

const dir = fileURLToPath(new URL('../../../shared/models/stories260K/', import.meta.url));
interface Case {
  prompt: string;
  prompt_ids: number[];
  generated_ids: number[];
  generated_text: string;
  first_step_logits: number[];
}
const cases = (JSON.parse(readFileSync(dir + 'reference.json', 'utf8')) as { cases: Case[] }).cases;

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
