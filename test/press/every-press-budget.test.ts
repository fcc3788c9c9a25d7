import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskByName } from '../../src/eval/tasks/registry.js';
import { promptOf } from '../../src/eval/tasks/task.js';
import { Session } from '../../src/generate/session.js';
import { keepCount } from '../../src/press/budget.js';
import { createPress, pressRegistry } from '../../src/press/registry.js';
import { loadStories } from '../helpers/stories260k.js';

const loaded = loadStories();
const RATIOS = [0.3, 0.5, 0.7, 0.9];
/** Presses that keep whole shots: at most the budget (a shot is never cut), never more. */
const WHOLE_SHOTS = new Set(['shotkv', 'random-shot']);
/** Presses that allocate the layer's budget unevenly (over layers or heads): the total holds, not each head. */
const ALLOCATING = new Set(['pyramidkv', 'adakv', 'kvzip', 'duo-attention']);
/** Memory set by the press's own parameter (FastGen's τ), not by the ratio: measured, not budgeted. */
const PARAMETER_DRIVEN = new Set(['fastgen']);
/** Decoding-time presses: the prompt is theirs to leave whole. */
const DECODING_ONLY = new Set(['rkv']);

test('every registered press keeps its budget at 0.3/0.5/0.7/0.9 (within one token per head) on prompts with and without segments, or its memory is measured from its parameter', async () => {
  const { model, tokenizer } = await loaded;
  const few = taskByName('arithmetic').examples(3, 1, { shots: 4 })[0]!; // system-less: shots + question
  const zero = taskByName('safety').examples(3, 1, { shots: 0 })[0]!; // system prompt + question, no shot
  const prompts = [
    { label: '4-shot segments', text: promptOf(few), segments: few.segments },
    { label: 'zero-shot segments', text: promptOf(zero), segments: zero.segments },
    { label: 'no segments', text: promptOf(few), segments: undefined },
  ];
  const { nLayers, nKvHeads } = model.config;
  // KVzip reconstructs the context behind a repeat prompt: its chunk must fit the model's context with it.
  const PARAMS: Record<string, Record<string, number>> = { kvzip: { chunk: 128 } };
  for (const entry of pressRegistry.filter((e) => e.name !== 'none'))
    for (const p of prompts) {
      const measured: number[] = [];
      for (const ratio of RATIOS) {
        const s = new Session(model, tokenizer, { compression: { press: createPress(entry.name, PARAMS[entry.name] ?? {}, { model, tokenizer }), ratio } });
        const at = `${entry.name} ${p.label} ratio ${ratio}`;
        if (WHOLE_SHOTS.has(entry.name) && !p.segments) {
          assert.throws(() => s.prefill(p.text), /no segments/, at);
          continue;
        }
        s.prefill(p.text, { segments: p.segments });
        const T = s.cache.seen;
        const B = keepCount(T, { ratio });
        const lengths = s.cache.heads.flat().map((h) => h.length);
        const total = lengths.reduce((a, b) => a + b, 0);
        measured.push(total / (nLayers * nKvHeads * T));
        if (PARAMETER_DRIVEN.has(entry.name)) continue;
        if (DECODING_ONLY.has(entry.name)) for (const n of lengths) assert.equal(n, T, `${at}: the prompt is left whole`);
        else if (ALLOCATING.has(entry.name)) assert.ok(Math.abs(total - nLayers * nKvHeads * B) <= nLayers * nKvHeads, `${at}: ${total} entries for budget ${B} per head`);
        else if (WHOLE_SHOTS.has(entry.name)) for (const n of lengths) assert.ok(n <= B && n > 0, `${at}: ${n} > ${B}`);
        else for (const n of lengths) assert.ok(Math.abs(n - B) <= 1, `${at}: ${n} entries, budget ${B}`);
      }
      if (PARAMETER_DRIVEN.has(entry.name)) {
        // The ratio only switches it on: the same memory at every ratio, below the full cache.
        assert.ok(measured.every((m) => m === measured[0] && m < 1), `${entry.name} ${p.label}: ${measured}`);
      }
    }
});

test("FastGen's memory follows its threshold τ: a lower τ keeps less (or the same), never more", async () => {
  const { model, tokenizer } = await loaded;
  const ex = taskByName('arithmetic').examples(3, 1, { shots: 4 })[0]!;
  const kept = [0.5, 0.8, 0.95, 0.99].map((threshold) => {
    const s = new Session(model, tokenizer, { compression: { press: createPress('fastgen', { threshold }), ratio: 0.5 } });
    s.prefill(promptOf(ex), { segments: ex.segments });
    return s.cache.entries();
  });
  for (let i = 1; i < kept.length; i++) assert.ok(kept[i - 1]! <= kept[i]!, `kept entries by τ: ${kept}`);
  assert.ok(kept[0]! < kept.at(-1)!, `τ changes the memory: ${kept}`);
});
