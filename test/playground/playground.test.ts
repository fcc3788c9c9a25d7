import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { logicalModelFromCheckpoint } from '../../src/formats/writers/logical-from-checkpoint.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { Session } from '../../src/generate/session.js';
import { inspectPrompt } from '../../src/inspect/inspect-prompt.js';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm-backend.js';
import { defaultModelPath } from '../../src/model/default-model.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { startPlayground, type Playground } from '../../src/playground/playground-server.js';
import { createPress } from '../../src/press/registry.js';
import { splitShots } from '../../src/press/split-shots.js';
import { launchBrowser } from '../helpers/browser.js';
import { buildBrowserBundle } from '../helpers/browser-bundle.js';
import { EVICTED, KEPT, stripColours } from '../helpers/heatmap-canvas.js';
import { modelPath } from '../helpers/model-files.js';

const PROMPTS = ['Once upon a time, there was a little girl named Lily.', 'The sun is', 'Tom had a small dog. The dog liked to run and'];
const MAX_TOKENS = 24;
const SHOTS_PROMPT = 'Lily saw a red ball.\n\nTom had a small dog named Max.\n\nThe cat sat on the mat.\n\nWhat did Lily see?';

const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-playground-'));
let backend: WasmBackend;
let tiny: LoadedModel;
let browser: Browser;
let isolated: Playground;
let plain: Playground;

before(async () => {
  buildBrowserBundle();
  // the browser has no native GEMM: the reference runs the same WebAssembly kernels
  backend = await createWasmBackend({ nativeGemm: false });
  tiny = await loadModel(defaultModelPath(), { backend });
  browser = await launchBrowser();
  isolated = await startPlayground({ model: defaultModelPath() });
  plain = await startPlayground({ model: defaultModelPath(), isolated: false });
});
after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
  backend?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

interface PageState {
  loaded: boolean;
  threads: number;
  runs: number;
  ids: number[];
  error?: string;
}
const state = (page: Page) => page.evaluate(() => (window as unknown as { kvtrimPlayground: PageState }).kvtrimPlayground);

/** Opens a playground, collecting console errors, page errors and every request that leaves its origin; waits for the default model. */
async function open(pg: Playground): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  const origin = new URL(pg.url).origin;
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => !r.url().startsWith(origin + '/') && !r.url().startsWith(`blob:${origin}/`) && problems.push(`request ${r.url()}`));
  await page.goto(pg.url);
  await waitLoaded(page);
  return { page, problems };
}

async function waitLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const s = (window as unknown as { kvtrimPlayground: PageState }).kvtrimPlayground;
    return s.loaded || s.error !== undefined || document.getElementById('status')!.textContent!.startsWith('Error');
  }, null, { timeout: 120_000 });
  assert.equal((await state(page)).error, undefined, (await page.locator('#status').textContent()) ?? '');
}

/** Types a prompt, picks presses, runs it and waits for generation and the capture; returns the greedy ids the page streamed. */
async function run(page: Page, prompt: string, opts: { presses?: string[]; ratio?: number; shots?: boolean; maxTokens?: number } = {}): Promise<number[]> {
  const before = (await state(page)).runs;
  await page.fill('#prompt', prompt);
  await page.fill('#max-tokens', String(opts.maxTokens ?? MAX_TOKENS));
  await page.fill('#ratio', String(opts.ratio ?? 0.5));
  await page.setChecked('#shots', opts.shots ?? false);
  for (const box of await page.locator('#picks input').all()) await box.setChecked((opts.presses ?? []).includes(await box.getAttribute('value') ?? ''));
  await page.click('#run');
  await page.waitForFunction((n) => {
    const s = (window as unknown as { kvtrimPlayground: PageState }).kvtrimPlayground;
    return s.runs > n || s.error !== undefined;
  }, before, { timeout: 120_000 });
  const s = await state(page);
  assert.equal(s.error, undefined);
  return s.ids;
}

/** The greedy ids Node's engine generates for a prompt on a loaded model. */
async function nodeGreedy(m: LoadedModel, prompt: string, maxTokens = MAX_TOKENS): Promise<number[]> {
  const s = new Session(m.model, m.tokenizer);
  try {
    return (await s.complete(prompt, { maxTokens, temperature: 0 })).ids;
  } finally {
    s.free();
  }
}

test('the cross-origin isolated playground loads with no console error, no request off loopback, and kernels on worker threads', async () => {
  const { page, problems } = await open(isolated);
  try {
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.ok(cores > 1, `the browser reports ${cores} core(s); the threaded path needs two`);
    assert.equal((await state(page)).threads, cores);
    assert.equal(await page.locator('#threads').getAttribute('data-threads'), String(cores));
    assert.match((await page.locator('#threads').textContent())!, new RegExp(`^${cores} threads: the kernels run on WebAssembly workers sharing one memory`));
    await run(page, PROMPTS[0]!, { presses: ['snapkv'] });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('for three prompts the page generates exactly the greedy tokens of the Node engine, streamed into the page', async () => {
  const { page, problems } = await open(isolated);
  try {
    for (const prompt of PROMPTS) {
      const expected = await nodeGreedy(tiny, prompt);
      assert.ok(expected.length > 0);
      assert.deepEqual(await run(page, prompt), expected, prompt);
      assert.equal(await page.locator('#output').textContent(), prompt + tiny.tokenizer.decode(expected));
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('each press overlay marks exactly the entries the library keeps, and the KV bytes are what a compressed session holds', async () => {
  const presses = ['snapkv', 'streamingllm', 'tova'];
  const ratio = 0.4;
  const data = inspectPrompt(tiny.model, tiny.tokenizer, splitShots(SHOTS_PROMPT), { presses, ratio });
  const T = data.tokens.length;
  const { page, problems } = await open(isolated);
  try {
    await run(page, SHOTS_PROMPT, { presses, ratio, shots: true, maxTokens: 4 });
    assert.equal(await page.locator('#stats tbody tr').count(), 4 * 4);
    assert.match((await page.locator('#stats thead').textContent())!, /mass: shot 1.*mass: question/);
    // the overlays come in the page's order of presses: find each by name
    const shown = await page.locator('canvas.overlay').evaluateAll((cs) => cs.map((c) => (c as HTMLCanvasElement).dataset.press));
    assert.deepEqual([...shown].sort(), [...presses].sort());
    for (const [layer, head] of [[0, 0], [2, 3], [3, 1]] as const) {
      await page.locator(`.thumb[data-key="${layer}/${head}"]`).click();
      for (const p of data.presses) {
        const i = shown.indexOf(p.name);
        const kept = new Set(p.kept[layer]![Math.floor(head / 2)]!);
        assert.ok(kept.size > 0 && kept.size < T, `${p.name} kept ${kept.size} of ${T}`);
        const colours = await stripColours(page, i, T);
        colours.forEach((rgb, pos) => assert.deepEqual(rgb, kept.has(pos) ? KEPT : EVICTED, `${p.name} L${layer} H${head} position ${pos}`));
      }
    }
    // KV bytes kept vs full, against a session compressed by the same press on the same prompt
    const rows = await page.locator('#kv tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    for (const name of presses) {
      const s = new Session(tiny.model, tiny.tokenizer, { compression: { press: createPress(name), ratio } });
      s.prefill(SHOTS_PROMPT, { segments: splitShots(SHOTS_PROMPT) });
      const row = rows.find((r) => r[0]!.startsWith(`${name} at ratio ${ratio}`));
      const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      assert.deepEqual(row?.slice(1, 3), [kib(s.cache.bytes()), kib(s.cache.fullBytes())], name);
      s.free();
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('without cross-origin isolation the page runs the kernels on one thread, says so, and still generates the Node tokens', async () => {
  const { page, problems } = await open(plain);
  try {
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.equal((await state(page)).threads, 1);
    assert.match((await page.locator('#threads').textContent())!, /^1 thread: the page is not cross-origin isolated/);
    assert.deepEqual(await run(page, PROMPTS[1]!), await nodeGreedy(tiny, PROMPTS[1]!));
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a safetensors folder picked in the page loads there (llama2.c tokenizer beside it) and generates the Node tokens', async () => {
  // stories260K as an HF folder with its tokenizer.bin: another model, format and tokenizer than the default
  const stories = modelPath('stories260K/');
  const dir = join(tmp, 'stories260K-hf');
  writeHfModel(dir, logicalModelFromCheckpoint(loadCheckpoint(join(stories, 'stories260K.bin'))));
  copyFileSync(join(stories, 'tok512.bin'), join(dir, 'tokenizer.bin'));
  const dropped = await loadModel(dir, { backend });
  const { page, problems } = await open(isolated);
  try {
    await page.setInputFiles('#pick-folder', dir);
    await waitLoaded(page);
    assert.match((await page.locator('#status').textContent())!, /^stories260K-hf: 5 layers, 8 query heads over 4 KV heads/);
    const prompt = 'Once upon a time, Lily';
    assert.deepEqual(await run(page, prompt), await nodeGreedy(dropped, prompt));
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a GGUF file picked or dropped on the page loads there and generates the Node tokens of the same file', async () => {
  const file = join(modelPath('stories260K/'), 'stories260K.gguf');
  const gguf = await loadModel(file, { backend });
  const { page, problems } = await open(isolated);
  try {
    await page.setInputFiles('#pick-file', file);
    await waitLoaded(page);
    assert.match((await page.locator('#status').textContent())!, /^stories260K\.gguf: 5 layers, 8 query heads over 4 KV heads/);
    for (const prompt of ['Once upon a time', 'Tom and Lily went to the park']) assert.deepEqual(await run(page, prompt), await nodeGreedy(gguf, prompt), prompt);
    // the same file dropped on the drop zone, after the embedded model is back
    await page.reload();
    await waitLoaded(page);
    const bytes = [...readFileSync(file)];
    const transfer = await page.evaluateHandle((b) => {
      const t = new DataTransfer();
      t.items.add(new File([new Uint8Array(b)], 'dropped.gguf'));
      return t;
    }, bytes);
    await page.locator('#drop').dispatchEvent('drop', { dataTransfer: transfer });
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('dropped.gguf'), null, { timeout: 60_000 });
    await waitLoaded(page);
    assert.deepEqual(await run(page, 'Once upon a time'), await nodeGreedy(gguf, 'Once upon a time'));
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
