/** The heatmap views' style sheet (the static page and the playground share it). */
export const HEATMAP_CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:16px;color:#1d2330}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}.side h2:first-child{margin-top:0}
.note{color:#5b6475;margin:2px 0}
.controls{display:flex;gap:12px;align-items:center;margin:8px 0;flex-wrap:wrap}
.top{display:flex;gap:20px;align-items:flex-start}
.scroll{overflow:auto;flex:1 1 auto;min-width:320px;max-height:85vh;border:1px solid #dde3ee}
.side{flex:0 0 auto;max-width:50vw}
#main{display:block;cursor:crosshair}
#hover{font-family:monospace;min-height:1.4em;margin:4px 0;white-space:pre}
#tip{position:absolute;display:none;background:#1d2330;color:#fff;font:12px monospace;padding:3px 6px;border-radius:4px;pointer-events:none;white-space:pre}
#grid{border-collapse:collapse}#grid th{font-weight:normal;color:#5b6475;font-size:12px;padding:0 4px}
#grid td{padding:2px;text-align:center}.thumb{border:2px solid transparent;cursor:pointer;display:block}.thumb.sel{border-color:#3266c8}
.cap{font-size:10px;line-height:1.15;color:#5b6475;max-width:60px;margin:auto}
#presses{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-size:12px;color:#1d2330;margin-bottom:2px}
table#stats{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:12px}
#stats th,#stats td{border:1px solid #dde3ee;padding:2px 6px;text-align:right}#stats th{background:#f3f6fb}
#stats tbody tr{cursor:pointer}#stats tr.sel td{background:#e3ecfb}
`;

/**
 * The elements `HEATMAP_CLIENT` draws into: layer/head/zoom/scale controls, the main heatmap, the
 * layers × heads grid, each press's kept/evicted overlay and the per-head statistics table.
 * `pressesNote` fills the overlay area until a press is drawn there.
 */
export function heatmapViewsHtml(pressesNote: string): string {
  return `<div class="controls">
<select id="layer"></select><select id="head"></select>
<label>zoom <input id="zoom" type="range" min="1" max="24"></label>
<label>scale <select id="scale"><option value="sqrt">sqrt</option><option value="linear">linear</option><option value="log">log (4 decades)</option></select></label>
<strong id="selected"></strong>
</div>
<div id="hover"></div>
<div class="top">
<div class="scroll"><canvas id="main"></canvas></div>
<div class="side">
<h2>Layers × heads</h2><table id="grid"></table><p class="note" id="legend"></p>
<h2>Kept (green) and evicted (red, washed out) keys per press, selected head</h2>
<div id="presses">${pressesNote}</div>
</div>
</div>
<h2>Per-head statistics</h2>
<p class="note">Averaged over the captured query rows: entropy of the attention row (nats), share of mass on the top 10 % of visible keys, and mass on each segment.</p>
<table id="stats"></table>
<div id="tip"></div>
`;
}
