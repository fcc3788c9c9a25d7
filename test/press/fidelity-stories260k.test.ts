import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { klDivergence } from '../../src/eval/fidelity.js';
import { Session } from '../../src/generate/session.js';
import { loadModel } from '../../src/model/load-model.js';
import { createPress } from '../../src/press/registry.js';

const dir = fileURLToPath(new URL('../../../shared/models/stories260K/', import.meta.url));
const cases = (JSON.parse(readFileSync(dir + 'reference.json', 'utf8')) as { cases: { prompt_ids: number[]; generated_ids: number[] }[] }).cases;
const STEPS = 24;

test('stories260K at ratio 0.5: SnapKV next-token KL vs the full cache is well below Random (3 seeds)', async () => {
  const { model, tokenizer } = await loadModel(dir + 'stories260K.bin', { tokenizerPath: dir + 'tok512.bin' });
  const argmax = (l: Float32Array) => l.reduce((b, v, i) => (v > l[b]! ? i : b), 0);
  // Context: each reference prompt plus run.c's greedy continuation (69–82 tokens); then the full
  // cache's own greedy continuation is teacher-forced through every compressed cache.
  const refs = cases.map((c) => {
    const ctx = [...c.prompt_ids, ...c.generated_ids];
    const s = new Session(model, tokenizer);
    let l = s.prefill(ctx);
    const toks: number[] = [];
    const logits: Float32Array[] = [];
    for (let i = 0; i < STEPS; i++) {
      toks.push(argmax(l));
      logits.push((l = s.step(toks[i]!)));
    }
    return { ctx, toks, logits };
  });
  const meanKL = (press: string, params: Record<string, number> = {}) => {
    let kl = 0;
    for (const r of refs) {
      const s = new Session(model, tokenizer);
      s.prefill(r.ctx, { press: createPress(press, params), ratio: 0.5 });
      assert.ok(s.cache.bytes() <= 0.5 * s.cache.fullBytes());
      for (let i = 0; i < STEPS; i++) kl += klDivergence(r.logits[i]!, s.step(r.toks[i]!));
    }
    return kl / (refs.length * STEPS);
  };
  const snap = meanKL('snapkv');
  const random = [0, 1, 2].map((seed) => meanKL('random', { seed }));
  console.log(`stories260K ratio 0.5 mean next-token KL: snapkv ${snap.toFixed(4)}, random ${random.map((x) => x.toFixed(4)).join(' / ')}`);
  for (const r of random) assert.ok(snap < r / 2, `snapkv ${snap} vs random ${r}`);
});
