import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPress } from '../../src/press/registry.js';
import type { SegmentRange } from '../../src/press/segment-range.js';
import { fidelityReferences, loadStories, storiesCases, teacherForcedKL } from '../helpers/stories260k.js';

const STEPS = 16;

test('stories260K: ChunkKV, ShotKV and FastGen next-token KL vs the full cache (ratio 0 exact, each beats its baseline)', async () => {
  const loaded = await loadStories();
  const { tokenizer } = loaded;
  const refs = fidelityReferences(loaded, STEPS, storiesCases.slice(0, 3));
  // Stories have no shots: sentences stand in for them (BOS = system, the last ≥ 8 tokens = question).
  const sentences = (ctx: number[]): SegmentRange[] => {
    const out: SegmentRange[] = [{ kind: 'system', start: 0, end: 1 }];
    let start = 1;
    for (let i = 1; i < ctx.length - 8; i++)
      if (/[.!?]\s*$/.test(tokenizer.piece(ctx[i]!))) {
        out.push({ kind: 'shot', start, end: i + 1 });
        start = i + 1;
      }
    out.push({ kind: 'question', start, end: ctx.length });
    return out;
  };
  const measure = (press: string, ratio: number, params: Record<string, number | boolean> = {}) =>
    teacherForcedKL(loaded, refs, (r) => {
      const p = createPress(press, params);
      return { compression: { press: p, ratio }, segments: p.usesShots ? sentences(r.ctx) : undefined };
    });
  for (const p of ['chunkkv', 'shotkv', 'fastgen']) assert.equal(measure(p, 0).kl, 0, `${p} at ratio 0`);
  const chunk = measure('chunkkv', 0.5, { window: 8, chunkSize: 5 });
  const random = measure('random', 0.5);
  const shot = measure('shotkv', 0.5);
  const randomShot = [0, 1].map((seed) => measure('random-shot', 0.5, { seed }).kl);
  const fastgen = measure('fastgen', 0.5, { threshold: 0.95 });
  const streaming = measure('streamingllm', 0.3);
  console.log(
    `stories260K mean next-token KL: chunkkv@0.5 ${chunk.kl.toFixed(4)} random@0.5 ${random.kl.toFixed(4)} | shotkv@0.5 ${shot.kl.toFixed(4)} ` +
      `random-shot ${randomShot.map((x) => x.toFixed(4)).join('/')} | fastgen τ=0.95 ${fastgen.kl.toFixed(4)} (KV ${(100 * fastgen.kept).toFixed(1)}%) ` +
      `streamingllm@0.3 ${streaming.kl.toFixed(4)} (KV ${(100 * streaming.kept).toFixed(1)}%)`,
  );
  for (const x of [chunk.kl, random.kl, shot.kl, fastgen.kl, streaming.kl, ...randomShot]) assert.ok(Number.isFinite(x) && x >= 0);
  assert.ok(chunk.kl < random.kl / 4, 'ChunkKV far below Random');
  assert.ok(shot.kl < Math.min(...randomShot), 'attention-scored shots beat random shots');
  assert.ok(fastgen.kept < streaming.kept && fastgen.kl < streaming.kl, 'FastGen: less memory and lower KL than StreamingLLM at ratio 0.3');
});
