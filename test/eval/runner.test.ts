import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { readResults, recordKey, type ResultRecord } from '../../src/eval/result.js';
import { runStudy } from '../../src/eval/runner.js';
import type { StudyOptions } from '../../src/eval/study-options.js';
import { taskByName } from '../../src/eval/tasks/registry.js';
import { promptOf, type Task } from '../../src/eval/tasks/task.js';
import { loadStories } from '../helpers/stories260k.js';

const loaded = loadStories();
const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-study-'));

function options(out: string): StudyOptions {
  return {
    modelName: 'stories260K',
    tasks: [taskByName('knowledge'), taskByName('arithmetic')],
    presses: [{ press: 'snapkv', params: {} }, { press: 'random', params: {} }],
    ratios: [0.5],
    sweeps: {},
    shots: [1],
    n: 2,
    seed: 5,
    settings: ['question-aware', 'question-agnostic'],
    decodeRatio: 0,
    out,
  };
}

const stable = (r: ResultRecord) => ({ ...r, prefill_ms: 0, press_ms: 0, decode_ms: 0 });

test('one prefill, many presses: every output equals a separate prefill with that press', async () => {
  const { model, tokenizer } = await loaded;
  const out = join(tmp, 'shared.jsonl');
  const opts = options(out);
  const totals = await runStudy(model, tokenizer, opts);
  const records = readResults(out);
  assert.equal(totals.records, records.length);
  assert.equal(records.length, 2 /*tasks*/ * 2 /*settings*/ * 2 /*examples*/ * (1 /*full*/ + 2 /*presses*/ * 1 /*ratio*/));
  const { nLayers, nKvHeads } = model.config;
  for (const r of records) {
    const task = taskByName(r.task);
    const ex = task.examples(opts.seed, opts.n, { shots: r.shots })[r.example]!;
    const session = new Session(model, tokenizer, { compression: r.ratio! > 0 ? { press: r.press, ratio: r.ratio! } : undefined });
    const context = r.setting === 'question-aware' ? ex.segments : ex.segments.slice(0, -1);
    session.prefill(promptOf({ ...ex, segments: context }), { segments: context });
    const entries = (s: Session) => s.cache.heads.flat().reduce((n, h) => n + h.length, 0) / (nLayers * nKvHeads * s.cache.seen);
    assert.equal(r.prefill_kept, entries(session), 'kept share measured right after the compressed prefill');
    if (r.setting === 'question-agnostic') session.prefill(ex.segments.at(-1)!.text, { segments: [ex.segments.at(-1)!], compress: false });
    assert.equal(r.kv_bytes, session.cache.bytes(), 'bytes before any generated token');
    assert.equal(r.prompt_tokens, session.cache.seen);
    let text = '';
    for await (const t of session.generate({ maxTokens: ex.maxNewTokens, stop: ex.stop })) text += t.text;
    assert.equal(r.output, text, `${r.task} ${r.setting} ${r.press}@${r.ratio} #${r.example}`);
    assert.equal(r.final_kept, entries(session));
    assert.equal(r.score, task.score(ex, text));
    assert.equal(r.decode_ratio, 0);
    if (r.ratio === 0) {
      assert.equal(r.press, 'full');
      assert.deepEqual([r.kl, r.top1, r.prefill_kept], [0, 1, 1]);
    } else {
      assert.ok(r.kv_bytes < r.kv_bytes_full);
      assert.ok(Math.abs(r.prefill_kept - 0.5) < 0.02, `snapkv/random keep their budget: ${r.prefill_kept}`);
      assert.ok(r.kl >= 0 && Number.isFinite(r.kl) && r.top1 >= 0 && r.top1 <= 1);
    }
  }
});

test('decoding each example\'s presses together gives exactly the results of decoding them one after another', async () => {
  const { model, tokenizer } = await loaded;
  const batched = join(tmp, 'batched.jsonl');
  const sequential = join(tmp, 'sequential.jsonl');
  const totals = await runStudy(model, tokenizer, { ...options(batched), decodeRatio: 0.3 });
  await runStudy(model, tokenizer, { ...options(sequential), decodeRatio: 0.3, batched: false });
  assert.deepEqual(readResults(batched).map(stable), readResults(sequential).map(stable));
  assert.equal(totals.batchCheck?.sequences, 3, 'the first example\'s full cache and two presses were also decoded alone, with the same answers');
  assert.ok(totals.batchCheck!.batchedMs > 0 && totals.batchCheck!.sequentialMs > 0);
});

test('a run killed midway and resumed ends with the same JSONL as an uninterrupted run', async () => {
  const { model, tokenizer } = await loaded;
  const whole = join(tmp, 'whole.jsonl');
  await runStudy(model, tokenizer, options(whole));
  const part = join(tmp, 'part.jsonl');
  let calls = 0;
  // Stopped before its 4th example (presses × ratios of an example decode together, so it stops between examples).
  const first = await runStudy(model, tokenizer, options(part), { shouldStop: () => ++calls > 3 });
  assert.ok(first.stopped);
  const kept = readResults(part).length;
  assert.ok(kept > 0 && kept < readResults(whole).length && kept === first.records, `${kept} results before the stop`);
  // a kill can also leave half a line behind
  writeFileSync(part, readFileSync(part, 'utf8') + '{"model":"stories260K","ta');
  const second = await runStudy(model, tokenizer, options(part));
  assert.equal(second.skipped, kept);
  assert.deepEqual(readResults(part).map(stable), readResults(whole).map(stable));
});

test('on a 512-context model a prompt too long is shortened (fewer shots, a shorter context) or skipped with a counted note, never aborting', async () => {
  const { model, tokenizer } = await loaded;
  assert.equal(model.config.maxSeqLen, 512);
  const tooLong: Task = {
    name: 'too-long',
    ability: 'knowledge',
    shotCounts: [0],
    examples: (seed, n) => Array.from({ length: n }, (_, i) => ({ id: `t-${seed}-${i}`, task: 'too-long', segments: [{ kind: 'question', text: 'Once upon a time. '.repeat(200) }], answer: ' x', maxNewTokens: 4 })),
    extract: (o) => o,
    score: () => 0,
  };
  const out = join(tmp, 'fit.jsonl');
  const opts = { ...options(out), tasks: [taskByName('arithmetic'), taskByName('retrieval'), tooLong], shots: [8], settings: ['question-aware' as const], presses: [{ press: 'snapkv', params: {} }] };
  const totals = await runStudy(model, tokenizer, opts);
  const records = readResults(out);
  const arith = records.filter((r) => r.task === 'arithmetic');
  const retrieval = records.filter((r) => r.task === 'retrieval');
  assert.equal(arith.length, 2 * 2, 'both arithmetic examples ran (full + snapkv)');
  for (const r of arith) {
    assert.ok(r.shots < 8 && r.fit === `${r.shots} of 8 shots`, JSON.stringify(r.fit));
    assert.ok(r.prompt_tokens + 64 <= 512);
  }
  assert.equal(retrieval.length, 2 * 2);
  for (const r of retrieval) assert.match(r.fit!, /^context shortened to \d+ characters$/);
  assert.equal(records.filter((r) => r.task === 'too-long').length, 0);
  const skipped = totals.fitNotes.filter((f) => f.skipped);
  assert.deepEqual(skipped.map((f) => [f.task, f.examples]), [['too-long', 2]]);
  assert.match(skipped[0]!.note, /does not fit the 512-token context/);
  const shortened = totals.fitNotes.filter((f) => !f.skipped).reduce((a, f) => a + f.examples, 0);
  assert.equal(shortened, 4, 'every shortened example counted once');
});

test('shards k/N partition the grid: their union is the whole run, each unit in exactly one shard', async () => {
  const { model, tokenizer } = await loaded;
  const whole = readResults(join(tmp, 'whole.jsonl')).map(stable);
  const merged: ResultRecord[] = [];
  for (const index of [0, 1, 2]) {
    const out = join(tmp, `shard-${index}.jsonl`);
    await runStudy(model, tokenizer, { ...options(out), shard: { index, count: 3 } });
    merged.push(...readResults(out).map(stable));
  }
  const key = (r: ResultRecord) => recordKey(r);
  assert.deepEqual(merged.map(key).sort(), whole.map(key).sort());
  assert.deepEqual(new Set(merged.map(key)).size, merged.length);
  const byKey = new Map(whole.map((r) => [key(r), r]));
  for (const r of merged) assert.deepEqual(r, byKey.get(key(r)));
});

test('FastGen is swept by its threshold: each τ is one record with ratio null, its τ in press_params and in the key, and its measured kept', async () => {
  const { model, tokenizer } = await loaded;
  const out = join(tmp, 'fastgen.jsonl');
  const opts = { ...options(out), tasks: [taskByName('arithmetic')], n: 1, settings: ['question-aware' as const], presses: [{ press: 'fastgen', params: {} }], sweeps: { fastgen: [0.5, 0.99] } };
  await runStudy(model, tokenizer, opts);
  const fg = readResults(out).filter((r) => r.press === 'fastgen');
  assert.deepEqual(fg.map((r) => [r.ratio, r.press_params.threshold]), [[null, 0.5], [null, 0.99]]);
  assert.notEqual(recordKey(fg[0]!), recordKey(fg[1]!));
  assert.ok(fg[0]!.prefill_kept < fg[1]!.prefill_kept && fg[1]!.prefill_kept <= 1, `kept ${fg.map((r) => r.prefill_kept)}`);
});
