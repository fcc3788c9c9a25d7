import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { captureAttention } from '../../src/inspect/attention-capture.js';
import type { HeatmapData } from '../../src/inspect/heatmap-data.js';
import { splitShots } from '../../src/press/split-shots.js';
import { FASTGEN_POLICIES, type FastGenPolicy } from '../../src/press/fastgen-profile.js';
import type { SegmentRange } from '../../src/press/segment-range.js';
import { loadModel } from '../../src/model/load-model.js';
import { modelPath } from '../helpers/model-files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = modelPath('stories260K/');
const MODEL = ['--model', join(DIR, 'stories260K.bin'), '--tokenizer', join(DIR, 'tok512.bin')];
const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-heatmap-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function kvtrim(...args: string[]) {
  const script = "import { main } from './src/cli/main.ts'; main(process.argv).catch((e) => { console.error('kvtrim: ' + e.message); process.exit(1); });";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'kvtrim', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TEXT = 'Lily had a red ball.\n\nTom had a blue kite.\n\nSam had a green hat. He wore it.\n\nWhat did Tom have?';

test('kvtrim heatmap writes the page and the same capture as JSON, with each press cut to its budget', async () => {
  const promptFile = join(tmp, 'prompt.txt');
  writeFileSync(promptFile, TEXT);
  const out = join(tmp, 'page.html');
  const json = join(tmp, 'data.json');
  const r = kvtrim('heatmap', ...MODEL, '--prompt-file', promptFile, '--segments', '--press', 'snapkv,streamingllm,fastgen', '--ratio', '0.4', '--layers', '1-2', '--out', out, '--json', json);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(out));
  const data = JSON.parse(readFileSync(json, 'utf8')) as HeatmapData;

  const { model, tokenizer } = await loadModel(join(DIR, 'stories260K.bin'), { tokenizerPath: join(DIR, 'tok512.bin') });
  // segment by segment, BOS first: exact token boundaries
  const ids: number[] = [];
  const ranges: SegmentRange[] = [];
  for (const [i, seg] of splitShots(TEXT).entries()) {
    const start = ids.length;
    ids.push(...tokenizer.encode(seg.text, { addBos: i === 0 }));
    ranges.push({ kind: seg.kind, start, end: ids.length });
  }
  const T = ids.length;
  assert.deepEqual(data.tokens.map((t) => t.id), ids);
  assert.deepEqual(data.tokens.map((t) => t.text), ids.map((id) => tokenizer.piece(id)));
  assert.deepEqual(data.segments.map(({ kind, start, end }) => ({ kind, start, end })), ranges);
  assert.deepEqual(data.segments.map((s) => s.label), ['shot 1', 'shot 2', 'shot 3', 'question']);
  assert.equal(ranges.at(-1)!.end, T);
  const cap = captureAttention(model, ids, { layers: [1, 2], segments: ranges });
  assert.equal(data.maps.length, 2 * 8);
  // the CLI runs the WebAssembly backend, this test the TypeScript one: equal up to float32 rounding
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
  data.maps.forEach((m, i) => {
    const want = cap.maps[i]!;
    assert.deepEqual([m.layer, m.head], [want.layer, want.head]);
    assert.equal(m.weights.length, want.weights.length);
    m.weights.forEach((w, k) => near(w, want.weights[k]!, `L${m.layer} H${m.head} cell ${k}`));
    near(m.stats.entropy, want.stats.entropy, 'entropy');
    near(m.stats.top10, want.stats.top10, 'top10');
    m.stats.segmentMass.forEach((v, k) => near(v, want.stats.segmentMass[k]!, `segment ${k}`));
  });
  // ratio 0.4 keeps floor(0.6·T) entries of every (layer, KV head), at distinct prompt positions
  assert.deepEqual(data.presses.map((p) => p.name), ['snapkv', 'streamingllm', 'fastgen']);
  for (const p of data.presses.slice(0, 2))
    for (const layer of p.kept)
      for (const kept of layer) {
        assert.equal(kept.length, Math.floor(0.6 * T), p.name);
        assert.ok(kept.every((pos, i) => pos >= 0 && pos < T && (i === 0 || pos > kept[i - 1]!)));
      }
  assert.deepEqual(data.presses[1]!.kept[0]![0]!.slice(0, 4), [0, 1, 2, 3], 'streamingllm keeps its sinks');
  // FastGen reports one policy per (layer, KV head); a 'full' head keeps every entry
  const fastgen = data.presses[2]!;
  assert.equal(fastgen.policies?.length, 5);
  fastgen.policies!.forEach((layer, l) => {
    assert.equal(layer.length, 4);
    layer.forEach((policy, h) => {
      assert.ok(FASTGEN_POLICIES.includes(policy as FastGenPolicy), policy);
      if (policy === 'full') assert.equal(fastgen.kept[l]![h]!.length, T);
    });
  });
});

test('kvtrim heatmap rejects bad input with clear messages', () => {
  assert.match(kvtrim('heatmap', ...MODEL, '--out', join(tmp, 'x.html')).err, /exactly one of --prompt or --prompt-file/);
  assert.match(kvtrim('heatmap', ...MODEL, '--prompt', 'hi', '--press', 'nosuch').err, /unknown press 'nosuch'/);
  assert.match(kvtrim('heatmap', ...MODEL, '--prompt', 'hi', '--layers', '1-x').err, /--layers expects indices like 0,2-4/);
  assert.match(kvtrim('heatmap', ...MODEL, '--prompt', 'hi', '--heads', '9').err, /head 9 outside 0…7/);
  assert.match(kvtrim('heatmap', ...MODEL, '--prompt', 'hi', '--ratio', '1').err, /ratio must be in \[0, 1\)/);
});
