// Question-agnostic fidelity on stories260K (test/fixtures): compress the context (prompt + run.c's
// continuation), then teacher-force the full cache's own 24-token continuation through the
// compressed cache; prints mean next-token KL(full ‖ compressed), KV kept, and prefill time.
// Run: node --import tsx scripts/new-presses-kl.ts
import { Session } from '../src/generate/session.js';
import { createPress } from '../src/press/registry.js';
import { fidelityReferences, loadStories, teacherForcedKL } from '../test/helpers/stories260k.js';

const loaded = await loadStories();
const { model, tokenizer } = loaded;
const refs = fidelityReferences(loaded, 24);
const presses = ['snapkv', 'kvzip', 'keydiff', 'duo-attention'];
console.log('| press | ratio 0.3 | ratio 0.5 | ratio 0.7 |\n|---|---|---|---|');
for (const name of presses) {
  const cells = [0.3, 0.5, 0.7].map((ratio) => {
    const r = teacherForcedKL(loaded, refs, () => ({ compression: { press: createPress(name, {}, { model, tokenizer }), ratio } }));
    return `${r.kl.toFixed(4)} (kept ${(100 * r.kept).toFixed(0)} %)`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
const time = (press?: string) => {
  let best = Infinity;
  for (let i = 0; i < 7; i++)
    for (const r of refs) {
      const s = new Session(model, tokenizer, press ? { compression: { press: createPress(press, {}, { model, tokenizer }), ratio: 0.5 } } : {});
      const t0 = performance.now();
      s.prefill(r.ctx);
      best = Math.min(best, performance.now() - t0);
    }
  return best;
};
const plain = time();
for (const p of ['snapkv', 'kvzip']) console.log(`prefill ${p} @0.5: ${(time(p) / plain).toFixed(2)}× plain (${plain.toFixed(1)} ms best)`);
