import { readFileSync } from 'node:fs';
import { modelPath } from './model-files.js';
import { klDivergence } from '../../src/kernels/kl-divergence.js';
import { argmax } from '../../src/generate/sampler.js';
import { Session } from '../../src/generate/session.js';
import type { CompressionOptions } from '../../src/press/compression.js';
import type { SegmentRange } from '../../src/press/segment-range.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';

/** The real stories260K checkpoint (test/fixtures/stories260K) and its run.c reference outputs. */
export const storiesDir = modelPath('stories260K/');

export interface StoriesCase {
  prompt: string;
  prompt_ids: number[];
  generated_ids: number[];
  generated_text: string;
  first_step_logits: number[];
}

export const storiesCases = (JSON.parse(readFileSync(storiesDir + 'reference.json', 'utf8')) as { cases: StoriesCase[] }).cases;

export function loadStories(): Promise<LoadedModel> {
  return loadModel(storiesDir + 'stories260K.bin', { tokenizerPath: storiesDir + 'tok512.bin' });
}

/** A context (prompt + run.c's continuation) and the full cache's greedy continuation with its logits. */
export interface FidelityReference {
  ctx: number[];
  toks: number[];
  logits: Float32Array[];
}

export function fidelityReferences({ model, tokenizer }: LoadedModel, steps: number, cases = storiesCases): FidelityReference[] {
  return cases.map((c) => {
    const ctx = [...c.prompt_ids, ...c.generated_ids];
    const s = new Session(model, tokenizer);
    let l = s.prefill(ctx);
    const toks: number[] = [];
    const logits: Float32Array[] = [];
    for (let i = 0; i < steps; i++) {
      toks.push(argmax(l));
      logits.push((l = s.step(toks[i]!)));
    }
    return { ctx, toks, logits };
  });
}

/**
 * Mean next-token KL(full ‖ compressed) over the references, the full cache's continuation
 * teacher-forced through a cache prefilled with `opts`; also the share of the full cache's bytes kept.
 */
export function teacherForcedKL(
  { model, tokenizer }: LoadedModel,
  refs: readonly FidelityReference[],
  setup: (ref: FidelityReference) => { compression: CompressionOptions; segments?: readonly SegmentRange[] },
): { kl: number; kept: number } {
  let kl = 0;
  let steps = 0;
  let kept = 0;
  let full = 0;
  for (const r of refs) {
    const { compression, segments } = setup(r);
    const s = new Session(model, tokenizer, { compression });
    // Token-id prompts carry no segments; the session's segment list is what presses see.
    if (segments) s.segments.push(...segments);
    s.prefill(r.ctx);
    for (let i = 0; i < r.toks.length; i++, steps++) kl += klDivergence(r.logits[i]!, s.step(r.toks[i]!));
    kept += s.cache.bytes();
    full += s.cache.fullBytes();
  }
  return { kl: kl / steps, kept: kept / full };
}
