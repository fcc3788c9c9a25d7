import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { klDivergence } from '../../src/eval/fidelity.js';
import { Session } from '../../src/generate/session.js';
import { loadModel } from '../../src/model/load-model.js';
import { createPress } from '../../src/press/registry.js';
import type { SegmentRange } from '../../src/press/segment-range.js';

const dir = fileURLToPath(new URL('../../../shared/models/stories260K/', import.meta.url));
const cases = (JSON.parse(readFileSync(dir + 'reference.json', 'utf8')) as { cases: { prompt_ids: number[]; generated_ids: number[] }[] }).cases.slice(0, 3);
const STEPS = 16;

test('stories260K: ChunkKV, ShotKV and FastGen next-token KL vs the full cache (ratio 0 exact, each beats its baseline)', async () => {
  const { model, tokenizer } = await loadModel(dir + 'stories260K.bin', { tokenizerPath: dir + 'tok512.bin' });
  const argmax = (l: Float32Array) => l.reduce((b, v, i) => (v > l[b]! ? i : b), 0);
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
  const measure = (press: string, ratio: number, params: Record<string, number | boolean> = {}) => {
    let kl = 0;
    let kept = 0;
    let full = 0;
    for (const r of refs) {
      const s = new Session(model, tokenizer);
      // Token-id prompts carry no segments; the session's segment list is what presses see.
      if (press.endsWith('shot') || press === 'shotkv') s.segments.push(...sentences(r.ctx));
      s.prefill(r.ctx, { press: createPress(press, params), ratio });
      for (let i = 0; i < STEPS; i++) kl += klDivergence(r.logits[i]!, s.step(r.toks[i]!));
      kept += s.cache.bytes();
      full += s.cache.fullBytes();
    }
    return { kl: kl / (refs.length * STEPS), kept: kept / full };
  };
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
