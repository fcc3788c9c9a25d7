import { esc, scriptJson } from './html.js';
import { HEATMAP_CLIENT } from './heatmap-client.js';
import type { HeatmapData } from './heatmap-data.js';
import { HEATMAP_CSS, heatmapViewsHtml } from './heatmap-views.js';

/**
 * One self-contained HTML file (no server, no network) showing a capture: the query × key heatmap
 * of the selected head, a layer × head grid to pick from, each press's kept/evicted overlay and the
 * per-head statistics. Weights travel as base64 float32 to keep the page small.
 */
export function renderHeatmapPage(data: HeatmapData): string {
  const page = {
    ...data,
    maps: data.maps.map((m) => ({ ...m, weights: Buffer.from(Float32Array.from(m.weights).buffer).toString('base64') })),
  };
  const segs = data.segments.map((s) => `${esc(s.label)} ${s.start}–${s.end - 1}`).join(', ');
  const rows = data.rowStart === 0 ? 'every query row' : `query rows ${data.rowStart}–${data.tokens.length - 1}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(data.title)}</title>
<style>
${HEATMAP_CSS}</style></head><body>
<h1>${esc(data.title)}</h1>
<p class="note">${esc(data.model.name)}: ${data.model.nLayers} layers, ${data.model.nHeads} query heads over ${data.model.nKvHeads} KV heads (head dim ${data.model.headDim}).
${data.tokens.length} prompt tokens, ${rows}${data.block > 1 ? `, pooled in blocks of ${data.block} tokens (a cell is the mean over its query rows of the mass on its keys)` : ''}.
${segs ? `Segments (blue lines): ${segs}.` : ''} Colour: weight relative to the head's largest, grey = future keys (masked).</p>
${heatmapViewsHtml(data.presses.length ? '' : '<p class="note">No press chosen (kvtrim heatmap --press …).</p>')}
<script>window.KVTRIM_HEATMAP = ${scriptJson(page)};</script>
<script>${HEATMAP_CLIENT}
kvtrimHeatmap(window.KVTRIM_HEATMAP);</script>
</body></html>
`;
}
