/**
 * Development tool: screenshots a page written by `kvtrim heatmap` in headless Chromium (the README's
 * docs/heatmap.png), hovering one cell so the tooltip shows.
 *   npx tsx scripts/heatmap-screenshot.ts page.html docs/heatmap.png [--head L/H] [--hover R,C]
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser } from '../test/helpers/browser.js';

const program = new Command('heatmap-screenshot')
  .argument('<page>', 'HTML page from kvtrim heatmap')
  .argument('<png>', 'output PNG')
  .option('--head <l/h>', 'layer/head to select first')
  .option('--hover <r,c>', 'cell of the main heatmap to hover', '40,12')
  .option('--width <px>', 'viewport width', '1400')
  .option('--height <px>', 'viewport height (the shot is clipped to it)', '900')
  .action(async (pagePath: string, png: string, o: { head?: string; hover: string; width: string; height: string }) => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: Number(o.width), height: Number(o.height) } });
      await page.goto(pathToFileURL(resolve(pagePath)).href);
      await page.waitForFunction(() => (window as unknown as { kvtrimHeatmapReady?: boolean }).kvtrimHeatmapReady === true);
      if (o.head) await page.locator(`.thumb[data-key="${o.head}"]`).click();
      const [r, c] = o.hover.split(',').map(Number) as [number, number];
      const box = (await page.locator('#main').boundingBox())!;
      const g = await page.locator('#main').evaluate((el) => ({ ...(el as HTMLCanvasElement).dataset }));
      await page.mouse.move(box.x + Number(g.ml) + (c + 0.5) * Number(g.cell), box.y + Number(g.mt) + (r + 0.5) * Number(g.cell));
      await page.screenshot({ path: png });
    } finally {
      await browser.close();
    }
  });
await program.parseAsync();
