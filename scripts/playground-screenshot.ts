/**
 * Takes docs/playground.png: the playground on the embedded model after a few-shot prompt, with
 * three presses' overlays side by side.
 *   npm run build && node --import tsx scripts/playground-screenshot.ts
 */
import { fileURLToPath } from 'node:url';
import { defaultModelPath } from '../src/model/default-model.js';
import { startPlayground } from '../src/playground/playground-server.js';
import { launchBrowser } from '../test/helpers/browser.js';

const PROMPT = 'Lily saw a red ball in the park.\n\nTom had a small dog named Max.\n\nThe sun was warm and bright.\n\nWhat did Lily see?';
const PRESSES = ['streamingllm', 'snapkv', 'shotkv'];

const pg = await startPlayground({ model: defaultModelPath() });
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(pg.url);
  await page.waitForFunction(() => (window as unknown as { kvtrimPlayground: { loaded: boolean } }).kvtrimPlayground.loaded, null, { timeout: 120_000 });
  await page.fill('#prompt', PROMPT);
  await page.check('#shots');
  for (const box of await page.locator('#picks input').all()) await box.setChecked(PRESSES.includes((await box.getAttribute('value')) ?? ''));
  await page.click('#run');
  await page.waitForFunction(() => (window as unknown as { kvtrimPlayground: { runs: number } }).kvtrimPlayground.runs > 0, null, { timeout: 120_000 });
  await page.locator('.thumb[data-key="2/1"]').click();
  await page.locator('#zoom').fill('9');
  const out = fileURLToPath(new URL('../docs/playground.png', import.meta.url));
  await page.screenshot({ path: out, fullPage: true });
  console.error(`wrote ${out}`);
} finally {
  await browser.close();
  await pg.close();
}
