import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { HeatmapData } from '../../src/inspect/heatmap-data.js';
import { renderHeatmapPage } from '../../src/inspect/heatmap-page.js';
import { inspectPrompt } from '../../src/inspect/inspect-prompt.js';
import type { HeadPolicyReporter } from '../../src/inspect/press-kept.js';
import { splitShots } from '../../src/press/split-shots.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import type { Press } from '../../src/press/press.js';
import { launchBrowser } from '../helpers/browser.js';
import { EVICTED, KEPT, hoverCell, stripColours } from '../helpers/heatmap-canvas.js';
import { modelPath } from '../helpers/model-files.js';

const DIR = modelPath('stories260K/');
const PROMPT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside.\n\n' +
  'One day, she saw a big red ball in the park. She ran to it and picked it up. It was soft and round.\n\n' +
  'Tom had a small dog named Max. Max liked to run in the garden and dig holes. Tom laughed at him.\n\n' +
  'What did Lily see in the park?';

const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-heatmap-'));
let loaded: LoadedModel;
let browser: Browser;
before(async () => {
  loaded = await loadModel(join(DIR, 'stories260K.bin'), { tokenizerPath: join(DIR, 'tok512.bin') });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Opens a rendered page from disk, failing on any console error, page error or non-file request. */
async function open(data: HeatmapData, name: string): Promise<{ page: Page; problems: string[] }> {
  const file = join(tmp, name);
  const html = renderHeatmapPage(data);
  assert.ok(!/(src|href)=["']https?:/.test(html), 'no external resources');
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => !r.url().startsWith('file:') && problems.push(`request ${r.url()}`));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { kvtrimHeatmapReady?: boolean }).kvtrimHeatmapReady === true);
  return { page, problems };
}

/** Snapshots the main canvas under `name` in the page; returns how many bytes differ from snapshot `than`. */
const snapshot = (page: Page, name: string, than?: string) =>
  page.evaluate(
    ({ name, than }) => {
      const c = document.getElementById('main') as HTMLCanvasElement;
      const w = window as unknown as Record<string, Uint8ClampedArray>;
      const d = (w[name] = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
      const o = than ? w[than]! : d;
      let diff = Math.abs(o.length - d.length);
      for (let i = 0; i < Math.min(o.length, d.length); i++) if (o[i] !== d[i]) diff++;
      return diff;
    },
    { name, than },
  );

test('the heatmap page opens from disk, switches heads, shows the hovered token and marks exactly the kept entries', async () => {
  const { model, tokenizer } = loaded;
  const data = inspectPrompt(model, tokenizer, splitShots(PROMPT), { modelName: 'stories260K', presses: ['snapkv', 'knorm', 'streamingllm'], ratio: 0.3 });
  const T = data.tokens.length;
  assert.equal(data.block, 1);
  assert.deepEqual(data.segments.map((s) => s.label), ['shot 1', 'shot 2', 'shot 3', 'question']);
  // the overlay check below must tell KV heads apart: some press keeps different entries per head
  assert.ok(data.presses.some((p) => p.kept[3]![0]!.join() !== p.kept[3]![2]!.join()));
  const { page, problems } = await open(data, 'page.html');
  try {
    assert.equal(await page.locator('.thumb').count(), 5 * 8);
    assert.equal(await page.locator('#stats tbody tr').count(), 5 * 8);

    // picking another head in the grid redraws the main canvas differently; picking back restores it
    await snapshot(page, 'first');
    await page.locator('.thumb[data-key="3/5"]').click();
    assert.match((await page.locator('#selected').textContent())!, /layer 3 · head 5 \(KV head 2\)/);
    const changed = await snapshot(page, 'other', 'first');
    assert.ok(changed > 10_000, `only ${changed} bytes of the picture changed`);
    await page.locator('.thumb[data-key="0/0"]').click();
    assert.equal(await snapshot(page, 'again', 'first'), 0);
    await page.locator('.thumb[data-key="3/5"]').click();

    // hovering shows the query and key tokens, their positions and the weight the library captured
    const map = data.maps.find((m) => m.layer === 3 && m.head === 5)!;
    for (const [r, c] of [[20, 7], [T - 1, 0], [60, 33]] as const) {
      const text = await hoverCell(page, r, c);
      const q = `#${r} ${JSON.stringify(data.tokens[r]!.text)}`;
      const k = `#${c} ${JSON.stringify(data.tokens[c]!.text)}`;
      assert.equal(text, `query ${q} → key ${k}: weight ${map.weights[r * T + c]!.toPrecision(4)}`);
    }
    assert.match(await hoverCell(page, 3, 10), /: masked \(future key\)$/);

    // each press's strip is green exactly on the positions the library says that (layer, KV head) kept
    for (const [layer, head] of [[3, 5], [1, 0]] as const) {
      await page.locator(`.thumb[data-key="${layer}/${head}"]`).click();
      for (const [i, p] of data.presses.entries()) {
        const kept = new Set(p.kept[layer]![Math.floor(head / 2)]!);
        assert.ok(kept.size > 0 && kept.size < T, `${p.name} kept ${kept.size} of ${T}`);
        const colours = await stripColours(page, i, T);
        colours.forEach((rgb, pos) => assert.deepEqual(rgb, kept.has(pos) ? KEPT : EVICTED, `${p.name} L${layer} H${head} position ${pos}`));
        assert.match((await page.locator('figcaption').nth(i).textContent())!, new RegExp(`^${p.name} · ratio 0.3 · kept ${kept.size} of ${T}$`));
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a pooled capture of the last rows labels blocks on hover', async () => {
  const { model, tokenizer } = loaded;
  const data = inspectPrompt(model, tokenizer, PROMPT, { layers: [1, 2], heads: [0, 7], lastRows: 30, block: 4 });
  assert.equal(data.maps.length, 4);
  const T = data.tokens.length;
  const { page, problems } = await open(data, 'pooled.html');
  try {
    const r = 2;
    const c = 3;
    const a = data.rowStart + r * 4;
    const w = data.maps[0]!.weights[r * data.cols + c]!;
    assert.equal(await hoverCell(page, r, c), `query #${a}–${a + 3} → key #12–15: mean block mass ${w.toPrecision(4)}`);
    assert.equal(data.rows, Math.ceil(30 / 4));
    assert.equal(data.cols, Math.ceil(T / 4));
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a press that reports a policy per head (FastGen-style) shows it in the grid, the overlay and the statistics', async () => {
  const { model, tokenizer } = loaded;
  const POLICIES = ['special', 'special+punct', 'local', 'full'];
  const policyOf = (layer: number, h: number) => POLICIES[(layer + h) % POLICIES.length]!;
  // keeps every third entry (shifted by layer and head) plus the last one: easy to predict independently
  const stripes: Press & HeadPolicyReporter = {
    name: 'stripes',
    compress: (view) =>
      Array.from({ length: view.kvHeads }, (_, h) => {
        const T = view.length(h);
        return Int32Array.from([...Array(T).keys()].filter((i) => (i + h + view.layer) % 3 === 0 || i === T - 1));
      }),
    policies: () => Array.from({ length: 5 }, (_, l) => Array.from({ length: 4 }, (_, h) => policyOf(l, h))),
  };
  const data = inspectPrompt(model, tokenizer, PROMPT, { presses: [stripes], layers: [0, 2] });
  const T = data.tokens.length;
  const p = data.presses[0]!;
  for (let l = 0; l < 5; l++)
    for (let h = 0; h < 4; h++)
      assert.deepEqual(p.kept[l]![h], [...Array(T).keys()].filter((i) => (i + h + l) % 3 === 0 || i === T - 1), `L${l} KV${h}`);
  const { page, problems } = await open(data, 'policies.html');
  try {
    await page.locator('.thumb[data-key="2/3"]').click();
    assert.match((await page.locator('#selected').textContent())!, new RegExp(`policy ${policyOf(2, 1)}$`));
    assert.match((await page.locator('figcaption').textContent())!, new RegExp(`· policy ${policyOf(2, 1)}$`));
    const colours = await stripColours(page, 0, T);
    const kept = new Set(p.kept[2]![1]!);
    colours.forEach((rgb, pos) => assert.deepEqual(rgb, kept.has(pos) ? KEPT : EVICTED, `position ${pos}`));
    const header = await page.locator('#stats thead th').allTextContents();
    assert.equal(header.at(-1), 'stripes policy');
    const rows = await page.locator('#stats tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    assert.equal(rows.length, 2 * 8);
    for (const r of rows) assert.equal(r.at(-1), policyOf(Number(r[0]), Number(r[2])));
    const short = (p: string) => (p === 'full' ? 'full' : p.split('+').map((w) => w[0]!.toUpperCase()).join(''));
    assert.match((await page.locator('.thumb[data-key="0/5"] + .cap').textContent())!, new RegExp(`· ${short(policyOf(0, 2))}$`));
    assert.match((await page.locator('.thumb[data-key="0/5"]').getAttribute('title'))!, new RegExp(`policy ${policyOf(0, 2)}$`));
    assert.equal(await page.locator('#legend').textContent(), 'Policies: S = special, P = punct, L = local');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
