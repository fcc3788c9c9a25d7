import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { ReportMeta } from '../../src/eval/report/html-report.js';
import { readResults } from '../../src/eval/result.js';
import { defaultModelPath } from '../../src/model/default-model.js';
import { storiesDir } from '../helpers/stories260k.js';

test('kvtrim eval --model A --model B runs every model into one results file; the report puts each model\'s weight bytes beside its KV bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtrim-models-'));
  const out = join(dir, 'two.jsonl');
  const stories = storiesDir + 'stories260K.bin';
  await main(['node', 'kvtrim', 'eval', '--model', stories, '--model', defaultModelPath(), '--tasks', 'code', '--n', '1', '--shots', '1',
    '--presses', 'snapkv', '--ratios', '0.5', '--settings', 'question-aware', '--threads', '1', '--out', out]);
  const records = readResults(out);
  assert.deepEqual([...new Set(records.map((r) => r.model))].sort(), ['kvtrim-tiny', 'stories260K.bin']);
  for (const m of ['kvtrim-tiny', 'stories260K.bin']) assert.deepEqual(records.filter((r) => r.model === m).map((r) => r.press), ['full', 'snapkv']);
  const meta = JSON.parse(readFileSync(join(dir, 'two.meta.json'), 'utf8')) as ReportMeta;
  assert.deepEqual(meta.models!.map((m) => m.name), ['stories260K.bin', 'kvtrim-tiny']);
  for (const m of meta.models!) assert.ok(m.weightBytes > 100_000 && m.kvBytesPerToken > 0, JSON.stringify(m));
  const html = readFileSync(join(dir, 'two.html'), 'utf8');
  assert.match(html, /Models: weights beside the KV cache/);
  assert.match(html, /<h2>kvtrim-tiny · question-aware<\/h2>/);
  await assert.rejects(main(['node', 'kvtrim', 'eval', '--model', stories, '--model', stories, '--out', join(dir, 'x.jsonl')]), /two models are named 'stories260K.bin'/);
});
