import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { readResults, type ResultRecord } from '../../src/eval/result.js';
import { runStudy } from '../../src/eval/runner.js';
import type { StudyOptions } from '../../src/eval/study-options.js';
import { taskByName } from '../../src/eval/tasks/registry.js';
import { promptOf } from '../../src/eval/tasks/task.js';
import { loadStories } from '../helpers/stories260k.js';

const loaded = loadStories();
const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-study-'));

function options(out: string): StudyOptions {
  return {
    modelName: 'stories260K',
    tasks: [taskByName('knowledge'), taskByName('arithmetic')],
    presses: ['snapkv', 'random'],
    ratios: [0, 0.5],
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
  assert.equal(records.length, 2 /*tasks*/ * 2 /*settings*/ * 2 /*examples*/ * 2 /*presses*/ * 2 /*ratios*/);
  for (const r of records) {
    const task = taskByName(r.task);
    const ex = task.examples(opts.seed, opts.n, { shots: r.shots })[r.example]!;
    const session = new Session(model, tokenizer, { compression: r.ratio > 0 ? { press: r.press, ratio: r.ratio } : undefined });
    const context = r.setting === 'question-aware' ? ex.segments : ex.segments.slice(0, -1);
    session.prefill(promptOf({ ...ex, segments: context }), { segments: context });
    if (r.setting === 'question-agnostic') session.prefill(ex.segments.at(-1)!.text, { segments: [ex.segments.at(-1)!], compress: false });
    let text = '';
    for await (const t of session.generate({ maxTokens: ex.maxNewTokens, stop: ex.stop })) text += t.text;
    assert.equal(r.output, text, `${r.task} ${r.setting} ${r.press}@${r.ratio} #${r.example}`);
    assert.equal(r.kv_bytes, session.cache.bytes());
    assert.equal(r.score, task.score(ex, text));
    if (r.ratio === 0) assert.deepEqual([r.kl, r.top1], [0, 1]);
    else {
      assert.ok(r.kv_bytes < r.kv_bytes_full);
      assert.ok(r.kl >= 0 && Number.isFinite(r.kl) && r.top1 >= 0 && r.top1 <= 1);
    }
  }
});

test('a run killed midway and resumed ends with the same JSONL as an uninterrupted run', async () => {
  const { model, tokenizer } = await loaded;
  const whole = join(tmp, 'whole.jsonl');
  await runStudy(model, tokenizer, options(whole));
  const part = join(tmp, 'part.jsonl');
  let calls = 0;
  const first = await runStudy(model, tokenizer, options(part), { shouldStop: () => ++calls > 11 });
  assert.ok(first.stopped);
  assert.equal(readResults(part).length, 11);
  // a kill can also leave half a line behind
  writeFileSync(part, readFileSync(part, 'utf8') + '{"model":"stories260K","ta');
  const second = await runStudy(model, tokenizer, options(part));
  assert.equal(second.skipped, 11);
  assert.deepEqual(readResults(part).map(stable), readResults(whole).map(stable));
});
