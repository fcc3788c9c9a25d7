// What `kvtrim serve --on-pressure compress` costs in fidelity: a sequence is capped to K positions
// from its first generated token on (the earliest the server caps, so the most it can cost), with the
// server's own cap (SequenceCap), and the uncapped cache's greedy continuation is teacher-forced
// through it. Prints, per press and K, the mean next-token KL(full ‖ capped) and the share of steps
// whose greedy pick is unchanged, on the embedded model (counting prompts) and on stories260K.
// Run: node --import tsx scripts/pressure-fidelity.ts
import { argmax } from '../src/generate/sampler.js';
import { Session } from '../src/generate/session.js';
import { tokenisePrompt } from '../src/generate/tokenise-prompt.js';
import { klDivergence } from '../src/kernels/kl-divergence.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel, type LoadedModel } from '../src/model/load-model.js';
import { KvBudget } from '../src/server/kv-budget.js';
import { PressureRelief } from '../src/server/pressure-relief.js';
import { loadStories, storiesCases } from '../test/helpers/stories260k.js';

const STEPS = 48;
const PRESSES = ['streamingllm', 'h2o', 'snapkv'];
const CAPS = [16, 32, 64];

/** Mean KL and greedy agreement of the capped cache along the full cache's own greedy continuation of each context. */
async function capCost({ model, tokenizer }: LoadedModel, contexts: readonly number[][], press: string, positions: number) {
  let kl = 0;
  let same = 0;
  let steps = 0;
  for (const ctx of contexts) {
    const full = new Session(model, tokenizer);
    let ref = full.prefill(ctx);
    const budget = new KvBudget(2 ** 40);
    const relief = new PressureRelief(budget, model.config, { press, floor: 1 });
    const capped = new Session(model, tokenizer, { trackAttentionSums: relief.needsAttentionSums });
    const cap = relief.sequence(capped, await budget.reserve(2 ** 30, { timeoutMs: 0 }));
    capped.prefill(ctx);
    cap.capAt(positions);
    for (let i = 0; i < STEPS; i++, steps++) {
      const tok = argmax(ref);
      ref = full.step(tok);
      const mine = capped.step(tok, cap.hooks);
      kl += klDivergence(ref, mine);
      if (argmax(mine) === argmax(ref)) same++;
    }
    full.free();
    capped.free();
  }
  return { kl: kl / steps, agree: same / steps };
}

async function table(name: string, loaded: LoadedModel, contexts: number[][]): Promise<void> {
  const mean = contexts.reduce((s, c) => s + c.length, 0) / contexts.length;
  console.log(`\n${name}: ${contexts.length} contexts of ${mean.toFixed(0)} tokens on average, ${STEPS} teacher-forced steps each`);
  console.log(`| press | ${CAPS.map((k) => `K = ${k}`).join(' | ')} |\n|---|${CAPS.map(() => '---|').join('')}`);
  for (const press of PRESSES) {
    const cells: string[] = [];
    for (const k of CAPS) {
      const r = await capCost(loaded, contexts, press, k);
      cells.push(`KL ${r.kl.toFixed(3)}, greedy ${(100 * r.agree).toFixed(0)} %`);
    }
    console.log(`| ${press} | ${cells.join(' | ')} |`);
  }
}

const tiny = await loadModel(defaultModelPath());
const shot = 'Q: Count from 38 to 45 by 1.\nA: 38,39,40,41,42,43,44,45';
const counting = Array.from({ length: 8 }, (_, i) => tokenisePrompt(tiny.tokenizer, `${shot}\n\nQ: Count from ${20 + 3 * i} to ${120 + 3 * i} by ${1 + (i % 2)}.\nA:`, undefined, 0).ids);
await table('embedded model', tiny, counting);
const stories = await loadStories();
await table('stories260K', stories, storiesCases.map((c) => [...c.prompt_ids, ...c.generated_ids]));
