import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { aggregate } from '../../src/eval/report/aggregate.js';
import { renderReport } from '../../src/eval/report/html-report.js';
import type { ResultRecord } from '../../src/eval/result.js';
import { launchBrowser } from '../helpers/browser.js';

function records(): ResultRecord[] {
  const out: ResultRecord[] = [];
  let seed = 3;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (const ability of ['retrieval', 'arithmetic'])
    for (const press of ['snapkv', 'random'])
      for (const ratio of [0, 0.5, 0.9])
        for (const shots of [1, 4])
          for (let example = 0; example < 3; example++)
            out.push({
              model: 'm', task: ability, ability, setting: 'question-aware', press, ratio, shots, example,
              output: `<out ${example}>`, score: rand() < 1 - ratio * (press === 'random' ? 0.9 : 0.4) ? 1 : 0,
              kv_bytes: Math.round(1000 * (1 - ratio)), kv_bytes_full: 1000, kl: ratio * rand(), top1: 1 - ratio * rand(),
              prompt_tokens: 100, prefill_ms: 1, press_ms: 0.1, decode_ms: 2,
            });
  return out;
}

test('aggregate means match a naive grouping; ratio-0 records pool into one full-cache cell', () => {
  const rs = records();
  const cells = aggregate(rs);
  for (const c of cells) {
    const mine = rs.filter((r) => r.ability === c.ability && r.ratio === c.ratio && r.shots === c.shots && (c.ratio === 0 || r.press === c.press));
    assert.equal(c.n, mine.length);
    assert.ok(Math.abs(c.score - mine.reduce((a, r) => a + r.score, 0) / mine.length) < 1e-12);
    if (c.ratio === 0) assert.equal(c.press, 'full');
  }
  assert.equal(cells.filter((c) => c.ratio === 0).length, 2 * 2);
});

test('the HTML report opens from disk without network or console errors and every chart draws', async () => {
  const html = renderReport(records(), { title: 'test <study>', settings: { model: 'm', n: 3 }, modelCard: '# card' });
  assert.ok(!/(src|href)=["']https?:/.test(html), 'no external resources');
  assert.ok(html.includes('test &lt;study&gt;'));
  const dir = mkdtempSync(join(tmpdir(), 'kvtrim-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, html);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    const requests: string[] = [];
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    const canvases = await page.locator('canvas').count();
    assert.ok(canvases >= 4);
    assert.equal(await page.evaluate(() => (window as unknown as { __chartsDrawn: number }).__chartsDrawn), canvases);
    // every canvas has drawn pixels (not blank)
    const inked = await page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return n;
      }),
    );
    for (const n of inked) assert.ok(n > 500, `a chart drew only ${n} pixels`);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
  } finally {
    await browser.close();
  }
});
