import { HEATMAP_CSS, heatmapViewsHtml } from '../inspect/heatmap-views.js';

/**
 * The playground page: the prompt and its settings, the streamed generation, KV bytes kept against
 * the full cache, and the heatmap views (the static heatmap page's, drawn by the same client). The
 * engine runs in a worker (/playground-worker.js) driven by /playground.js; every resource is served
 * by `kvtrim playground` on loopback.
 */
export function renderPlaygroundPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kvtrim playground</title><link rel="icon" href="data:,">
<style>
${HEATMAP_CSS}
#drop{border:2px dashed #b8c2d6;border-radius:6px;padding:10px;margin:8px 0;color:#5b6475}#drop.over{background:#eef3fc;border-color:#3266c8}
#prompt{width:min(100%,900px);font:13px/1.4 monospace}
#output{white-space:pre-wrap;font:13px/1.4 monospace;background:#f6f8fb;border:1px solid #dde3ee;padding:8px;min-height:3em;max-width:900px}
#output .gen{background:#dff3e6}
#picks label{margin-right:10px;white-space:nowrap}
table#kv{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:12px}#kv th,#kv td{border:1px solid #dde3ee;padding:2px 6px;text-align:right}#kv th{background:#f3f6fb}
</style></head><body>
<h1>kvtrim playground</h1>
<p class="note">The engine, its WebAssembly kernels and its KV cache run in this page. <span id="status">Loading the model…</span></p>
<p class="note" id="threads"></p>
<div id="drop">Drop a GGUF file or a safetensors model folder here to use it instead (read in this page; nothing is uploaded) —
or pick one: <input type="file" id="pick-file" accept=".gguf"> <input type="file" id="pick-folder" webkitdirectory></div>
<div class="controls"><textarea id="prompt" rows="6">Once upon a time, there was a little girl named Lily.</textarea></div>
<div class="controls">
<label>max tokens <input id="max-tokens" type="number" min="1" max="2048" value="32"></label>
<label>ratio removed <input id="ratio" type="number" min="0" max="0.95" step="0.05" value="0.5"></label>
<label><input type="checkbox" id="shots"> shots / segments, split on <input id="separator" size="6" value="\\n\\n"></label>
<label>generate with <select id="generate-with"><option value="">the full cache</option></select></label>
<button id="run" disabled>Generate</button>
</div>
<div class="controls" id="picks">Presses to compare:</div>
<h2>Generation</h2>
<pre id="output"></pre>
<h2>KV cache of the prompt</h2>
<table id="kv"></table>
<h2>Attention</h2>
${heatmapViewsHtml('<p class="note">Tick presses above to see what each keeps.</p>')}
<script src="/heatmap-client.js"></script>
<script type="module" src="/playground.js"></script>
</body></html>
`;
}
