import { syntheticSuite } from '../../src/eval/tasks/registry.js';
import { promptOf, type Ability } from '../../src/eval/tasks/task.js';
import { Session } from '../../src/generate/session.js';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import type { Backend } from '../../src/kernels/backend.js';
import { loadModel } from '../../src/model/load-model.js';

/** Evaluation seed of the held-out check (below TRAINING_SEED_BASE, like every evaluation seed). */
export const HELD_OUT_SEED = 7;

/**
 * Mean score per ability with the full cache and greedy decoding, run by kvtrim's own engine on an
 * exported model directory: what the trainer reports is what `kvtrim eval` will see. The wasm kernels on one
 * thread (about 20× the TypeScript twins here) leave the other core to a trainer running beside it.
 */
export async function heldOutAccuracy(modelDir: string, n: number, opts: { seed?: number } = {}): Promise<Record<Ability, number>> {
  const backend = await createWasmBackend({ threads: 1, nativeGemm: false });
  try {
    return await accuracy(modelDir, n, opts.seed ?? HELD_OUT_SEED, backend);
  } finally {
    backend.dispose();
  }
}

async function accuracy(modelDir: string, n: number, seed: number, backend: Backend): Promise<Record<Ability, number>> {
  const { model, tokenizer } = await loadModel(modelDir, { backend });
  const out = {} as Record<Ability, number>;
  for (const task of syntheticSuite) {
    const length = Math.min(1024, model.config.maxSeqLen - 64);
    const shots = task.shotCounts.includes(4) ? 4 : Math.max(...task.shotCounts);
    const examples = task.examples(seed, n, task.ability === 'retrieval' ? { length } : { shots });
    let total = 0;
    for (const e of examples) {
      const session = new Session(model, tokenizer);
      try {
        const { text } = await session.complete(promptOf(e), { maxTokens: e.maxNewTokens, stop: e.stop });
        total += task.score(e, text);
      } finally {
        session.free();
      }
    }
    out[task.ability] = total / Math.max(1, examples.length);
  }
  return out;
}
