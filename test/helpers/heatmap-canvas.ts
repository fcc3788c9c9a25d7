import type { Page } from 'playwright-core';

/** The overlay strip's colours (heatmap-client.ts) for a kept and an evicted key. */
export const KEPT = [46, 157, 91];
export const EVICTED = [217, 83, 79];

/** Moves the mouse to the centre of cell (r, c) of the main heatmap. */
export async function hoverCell(page: Page, r: number, c: number): Promise<string> {
  const box = (await page.locator('#main').boundingBox())!;
  const g = await page.locator('#main').evaluate((el) => ({ ...(el as HTMLCanvasElement).dataset }));
  const cell = Number(g.cell);
  await page.mouse.move(box.x + Number(g.ml) + (c + 0.5) * cell, box.y + Number(g.mt) + (r + 0.5) * cell);
  return (await page.locator('#hover').textContent()) ?? '';
}

/** Per key column of a press overlay, the colour of its kept/evicted strip. */
export async function stripColours(page: Page, index: number, cols: number): Promise<number[][]> {
  return page.evaluate(
    ({ id, cols }) => {
      const c = document.getElementById(id) as HTMLCanvasElement;
      const cell = Number(c.dataset.cell);
      const y = Number(c.dataset.mt) - Number(c.dataset.strip) + 2;
      const d = c.getContext('2d')!.getImageData(0, y, c.width, 1).data;
      return Array.from({ length: cols }, (_, k) => {
        const x = Number(c.dataset.ml) + Math.floor((k + 0.5) * cell);
        return [d[x * 4]!, d[x * 4 + 1]!, d[x * 4 + 2]!];
      });
    },
    { id: `press-${index}`, cols },
  );
}
