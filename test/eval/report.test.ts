import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { aggregate } from '../../src/eval/report/aggregate.js';
import { renderReport } from '../../src/eval/report/html-report.js';
import { bootstrapMean, estimateScores, pairedDelta, wilson } from '../../src/eval/report/statistics.js';
import { loadResults, writeReport } from '../../src/eval/report/write-report.js';
import type { ResultRecord } from '../../src/eval/result.js';
import { Rng } from '../../src/generate/rng.js';
import { launchBrowser } from '../helpers/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-report-'));

/** A study's records: every press at its points, the full cache, 1 and 4 shots, n examples, both settings. */
function records(n = 30): ResultRecord[] {
  const out: ResultRecord[] = [];
  const rng = new Rng(3);
  const points = [
    { press: 'full', press_params: {}, ratio: 0, kept: 1 },
    ...['snapkv', 'chunkkv', 'shotkv', 'random'].flatMap((press) => [0.5, 0.9].map((ratio) => ({ press, press_params: {}, ratio, kept: press === 'shotkv' && ratio === 0.9 ? 0.16 : 1 - ratio }))),
    ...[0.6, 0.95].map((t) => ({ press: 'fastgen', press_params: { threshold: t }, ratio: null, kept: t === 0.6 ? 0.42 : 0.8 })),
  ];
  for (const setting of ['question-aware', 'question-agnostic'] as const)
    for (const ability of ['arithmetic', 'long-generation', 'safety', 'retrieval'])
      for (const shots of ability === 'retrieval' ? [0] : [1, 4])
        for (let example = 0; example < n; example++)
          for (const p of points) {
            const loss = (1 - p.kept) * (ability === 'arithmetic' ? 0.9 : 0.3) * (shots === 1 ? 1.3 : 0.7) * (p.press === 'chunkkv' ? 0.5 : 1);
            const partial = ability === 'long-generation';
            const u = rng.next();
            out.push({
              model: 'm', task: ability, ability, setting, press: p.press, press_params: p.press_params, ratio: p.ratio, decode_ratio: 0, shots, example,
              output: `<out ${example}>`, score: partial ? Math.max(0, Math.min(1, 0.9 - loss + 0.2 * (u - 0.5))) : u < 0.9 - loss ? 1 : 0,
              ...(ability === 'safety' ? { refusal_expected: example % 2 === 0 } : {}),
              ...(p.press === 'full' && setting === 'question-aware'
                ? { attention: { entropy: 1 + rng.next(), top10: ability === 'retrieval' ? 0.8 + 0.1 * rng.next() : 0.3 + 0.1 * rng.next(), system: ability === 'safety' ? 0.5 + 0.1 * rng.next() : 0, systemShare: ability === 'safety' ? 0.2 : 0, shots: [0.1] } }
                : {}),
              prefill_kept: p.kept + (p.press === 'shotkv' ? 0.01 * rng.next() : 0), final_kept: p.kept, kv_bytes: Math.round(1000 * p.kept), kv_bytes_full: 1000,
              kl: (1 - p.kept) * rng.next(), top1: 1 - (1 - p.kept) * rng.next(), prompt_tokens: 100, prefill_ms: 1, press_ms: 0.1, decode_ms: 2,
            });
          }
  return out;
}

const jsonl = (rs: readonly ResultRecord[]) => rs.map((r) => JSON.stringify(r) + '\n').join('');

test('Wilson intervals match the textbook formula computed naively in float64', () => {
  for (const [k, n] of [[0, 30], [1, 30], [15, 30], [29, 30], [30, 30], [7, 11], [1, 1]] as const) {
    const p = k / n;
    const z = 1.959963984540054;
    const denom = 1 + (z * z) / n;
    const centre = (p + (z * z) / (2 * n)) / denom;
    const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
    const got = wilson(k, n);
    const lo = k === 0 ? 0 : centre - half;
    const hi = k === n ? 1 : centre + half;
    assert.ok(Math.abs(got.lo - lo) < 1e-12 && Math.abs(got.hi - hi) < 1e-12, `${k}/${n}: ${JSON.stringify(got)} vs ${lo}, ${hi}`);
    assert.ok(got.lo <= p && p <= got.hi);
  }
  assert.equal(estimateScores([1, 0, 1, 1], 1).method, 'wilson');
  assert.equal(estimateScores([1, 0.5, 1, 1], 1).method, 'bootstrap');
});

test('the bootstrap interval is a seeded resampling of the mean, close to the normal interval at large n; Δ is paired on examples', () => {
  const rng = new Rng(9);
  const xs = Array.from({ length: 400 }, () => rng.next());
  const got = bootstrapMean(xs, 42, 500);
  // Naive: the same generator drives 500 resamples; percentiles by sorting.
  const r = new Rng(42);
  const means = Array.from({ length: 500 }, () => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(r.next() * xs.length)]!;
    return s / xs.length;
  }).sort((a, b) => a - b);
  const q = (p: number) => {
    const at = p * (means.length - 1);
    const i = Math.floor(at);
    return means[i]! + (at - i) * (means[i + 1]! - means[i]!);
  };
  assert.ok(Math.abs(got.lo - q(0.025)) < 1e-12 && Math.abs(got.hi - q(0.975)) < 1e-12);
  assert.deepEqual(bootstrapMean(xs, 42, 500), got, 'seeded: the same interval every time');
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  const half = (1.96 * sd) / Math.sqrt(xs.length);
  assert.ok(Math.abs(got.hi - got.lo - 2 * half) < 0.2 * 2 * half, 'width near the normal approximation');
  // Paired Δ: the mean of per-example differences (not the difference of unpaired means of other examples).
  const pairs = xs.slice(0, 50).map((x, i) => ({ score: x, full: xs[100 + i]! }));
  const d = pairedDelta(pairs, 1);
  assert.ok(Math.abs(d.mean - pairs.reduce((a, p) => a + p.score - p.full, 0) / 50) < 1e-12);
  assert.ok(d.lo <= d.mean && d.mean <= d.hi);
});

test('cells match a naive grouping: n, mean, and Δ paired with the full cache on the same examples', () => {
  const rs = records(12);
  for (const c of aggregate(rs)) {
    const mine = rs.filter((r) => r.setting === c.setting && r.ability === c.ability && r.shots === c.shots && r.press === c.press && (r.ratio === null ? `threshold ${r.press_params.threshold}` : `ratio ${r.ratio}`) === c.point);
    assert.equal(c.score.n, mine.length);
    assert.ok(Math.abs(c.score.mean - mine.reduce((a, r) => a + r.score, 0) / mine.length) < 1e-12);
    assert.ok(Math.abs(c.kept - mine.reduce((a, r) => a + r.prefill_kept, 0) / mine.length) < 1e-12);
    if (c.press === 'full') assert.equal(c.delta, undefined);
    else {
      const full = (r: ResultRecord) => rs.find((f) => f.press === 'full' && f.setting === r.setting && f.task === r.task && f.shots === r.shots && f.example === r.example)!.score;
      assert.ok(Math.abs(c.delta!.mean - mine.reduce((a, r) => a + r.score - full(r), 0) / mine.length) < 1e-12);
    }
  }
});

test('a merged report equals the report of the concatenated files, in any order; each file keeps its settings and model', () => {
  const rs = records(8);
  const half = rs.filter((r) => r.example % 2 === 0);
  const rest = rs.filter((r) => r.example % 2 === 1);
  const [a, b, both] = ['a.jsonl', 'b.jsonl', 'both.jsonl'].map((f) => join(dir, f));
  writeFileSync(a!, jsonl(half));
  writeFileSync(b!, jsonl(rest));
  writeFileSync(both!, jsonl(half) + jsonl(rest));
  writeFileSync(join(dir, 'a.meta.json'), JSON.stringify({ settings: { model: 'model-A', n: 4 } }));
  writeFileSync(join(dir, 'b.meta.json'), JSON.stringify({ settings: { model: 'model-B', n: 4 } }));
  const merged = loadResults([b!, a!]);
  const concatenated = loadResults([both!]);
  assert.ok(renderReport(merged.records, []) === renderReport(concatenated.records, []), "same report");
  const html = renderReport(merged.records, merged.sources);
  assert.ok(html.includes('model-A') && html.includes('model-B'), 'both runs\' settings are shown');
  assert.throws(() => loadResults([a!, both!]), /both\.jsonl: result .* is also in .*a\.jsonl/, "a record in two files is refused");
});

test('kvtrim report rejects a missing file, an empty one and rows of another schema, naming the file', async () => {
  const wrong = join(dir, 'wrong.jsonl');
  writeFileSync(wrong, '{"name":"x","value":3}\n{"name":"y","value":4}\n');
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '\n');
  await assert.rejects(main(['node', 'kvtrim', 'report', wrong]), /wrong\.jsonl:1: not a kvtrim study result \(field 'model' is missing\)/);
  await assert.rejects(main(['node', 'kvtrim', 'report', empty]), /empty\.jsonl: no study results/);
  await assert.rejects(main(['node', 'kvtrim', 'report', join(dir, 'nope.jsonl')]), /nope\.jsonl: no such results file/);
  const old = join(dir, 'old.jsonl');
  const { press_params: _p, prefill_kept: _k, ...legacy } = records(1)[0]!;
  writeFileSync(old, JSON.stringify(legacy) + '\n');
  assert.throws(() => writeReport(old), /old\.jsonl:1: not a kvtrim study result \(field 'press_params' is missing\)/);
});

test('the report opens from disk without network or errors: findings panels drew, each verdict names its numbers; axes fixed 0–100, x = measured kept', async () => {
  const rs = records();
  const file = join(dir, 'study.jsonl');
  writeFileSync(file, jsonl(rs));
  writeFileSync(join(dir, 'study.meta.json'), JSON.stringify({ title: 'test <study>', settings: { model: 'm', n: 30 }, models: [{ name: 'm', path: '/m', weightBytes: 4096, kvBytesPerToken: 64, modelCard: '# card' }], fitNotes: [{ task: 'retrieval', shots: 0, note: 'context shortened to 384 characters', skipped: false, examples: 3 }] }));
  const html = readFileSync(writeReport(file), 'utf8');
  assert.ok(!/(src|href)=["']https?:/.test(html), 'no external resources');
  assert.ok(html.includes('test &lt;study&gt;'));
  assert.ok(html.indexOf('Findings of the paper') < html.indexOf('Score vs measured KV kept'), 'findings first');
  assert.match(html, /<details><summary>Model card: m<\/summary>/);
  assert.match(html, /Models: weights beside the KV cache/);
  assert.match(html, /context shortened to 384 characters/);
  assert.match(html, /refusal rate \(must refuse\)/);
  assert.match(html, /point\(s\)<\/span> kept more than 2 points away/, 'ShotKV at 16 % for nominal 10 % is flagged');
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    const requests: string[] = [];
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(pathToFileURL(file.replace(/\.jsonl$/, '.html')).href);
    const panels = await page.evaluate(() =>
      [...document.querySelectorAll('.finding')].map((p) => {
        const c = p.querySelector('canvas');
        let ink = 0;
        if (c) {
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) ink++;
        }
        return { id: (p as HTMLElement).dataset.finding!, verdict: (p as HTMLElement).dataset.verdict!, why: p.querySelector('.why')!.textContent!, ink };
      }),
    );
    const ids = new Set(panels.map((p) => p.id));
    for (const id of ['arithmetic-sensitive', 'few-shots-fragile', 'chunk-level-arithmetic', 'long-generation-sensitive', 'shotkv-long-generation', 'attention']) assert.ok(ids.has(id), `panel ${id}`);
    for (const p of panels) {
      assert.ok(['holds', 'does not hold', 'not measurable here'].includes(p.verdict), p.verdict);
      if (p.ink === 0) assert.equal(p.verdict, 'not measurable here', `${p.id}: a panel without a chart can only be unmeasurable`);
      else {
        assert.ok(p.ink > 500, `${p.id}: chart drew ${p.ink} pixels`);
        assert.match(p.why, /-?\d+\.\d \[-?\d+\.\d, -?\d+\.\d\] \(n = \d+\)/, `${p.id} names its numbers with intervals: ${p.why}`);
      }
    }
    // The records were drawn with arithmetic losing three times what the others lose: the verdict must see it.
    assert.ok(panels.filter((p) => p.id === 'arithmetic-sensitive').every((p) => p.verdict === 'holds'), JSON.stringify(panels.filter((p) => p.id === 'arithmetic-sensitive')));
    const canvases = await page.locator('canvas').count();
    assert.equal(await page.evaluate(() => (window as unknown as { __chartsDrawn: number }).__chartsDrawn), canvases);
    const axes = await page.evaluate(() => {
      const charts = Object.values((window as unknown as { Chart: { instances: Record<string, { config: { type: string }; scales: Record<string, { min: number; max: number }> }> } }).Chart.instances);
      return charts.filter((c) => c.config.type === 'line' && c.scales.y!.min === 0 && c.scales.y!.max === 100).map((c) => [c.scales.x!.min, c.scales.x!.max, c.scales.y!.min]);
    });
    assert.ok(axes.length >= 4);
    for (const a of axes) assert.deepEqual(a, [0, 100, 0], 'score charts: x = KV kept 0–100 %, y = score 0–100 %');
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  } finally {
    await browser.close();
  }
});
