import type { ResultRecord, Setting } from '../result.js';
import { aggregate, kvKeptPercent, poolShots, uniqueSorted, type Cell } from './aggregate.js';
import { chartJsSource } from './chart-library.js';
import { esc, scriptJson, table } from '../../inspect/html.js';

/** What the runner knows beyond the records: shown in the report's settings section. */
export interface ReportMeta {
  title?: string;
  settings?: Record<string, string | number>;
  modelCard?: string;
}

interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: { label: string; points: { x: number; y: number }[] }[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** KV actually kept, in percent of the full cache (presses such as ShotKV or FastGen do not keep exactly 1 − ratio). */
const measuredKept = (c: Cell) => Math.round((1000 * c.kvBytes) / c.kvBytesFull) / 10;
const byNum = (a: number, b: number) => a - b;

/** A self-contained HTML report (tables + Chart.js line charts inlined) of a study's results. */
export function renderReport(records: readonly ResultRecord[], meta: ReportMeta = {}): string {
  const charts: ChartSpec[] = [];
  const sections: string[] = [];
  const cells = aggregate(records);
  for (const setting of uniqueSorted(cells.map((c) => c.setting))) {
    sections.push(settingSection(setting, cells.filter((c) => c.setting === setting), charts));
  }
  // measured KV kept need not follow the nominal ratio order: draw each line left to right
  for (const c of charts) for (const s of c.series) s.points.sort((a, b) => a.x - b.x);
  const settings = meta.settings ?? {};
  const title = meta.title ?? 'kvtrim study';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;padding:0 16px}
h1{font-size:24px}h2{border-bottom:2px solid #dde3ee;padding-bottom:4px;margin-top:36px}h3{margin:20px 0 6px}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde3ee;padding:3px 8px;text-align:right}th{background:#f3f6fb}td:first-child,th:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:16px}
.chart{border:1px solid #e5e9f2;border-radius:6px;padding:8px;height:260px;position:relative}
.bad{background:#fde2e1}.warn{background:#fff4d6}.good{background:#e3f6e8}
pre{background:#f6f8fb;padding:12px;overflow:auto;white-space:pre-wrap}
.note{color:#5b6475}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="note">Scores are task accuracy (0–100 %). “KV kept” is the share of the KV cache a press keeps (100 % = full cache; kvtrim's <code>ratio</code> is the share removed): table columns are the nominal budget, chart positions the bytes actually kept after generation. Δ is the change against the full cache on the same examples. KL is the mean next-token KL divergence of the compressed cache from the full cache along the full-cache answer (teacher-forced); top-1 is how often both predict the same token.</p>
${table(['setting', 'value'], Object.entries(settings).map(([k, v]) => [esc(k), esc(v)]))}
${sections.join('\n')}
${meta.modelCard ? `<h2>Model card</h2><pre>${esc(meta.modelCard)}</pre>` : ''}
<script>${chartJsSource()}</script>
<script>
const specs = ${scriptJson(charts)};
const palette = ['#3266c8','#d9534f','#2e9d5b','#e08a1e','#8250c4','#1aa3a3','#b8418a','#6b7a8f','#a0792d','#4a9fe0','#c0392b','#27ae60'];
let drawn = 0;
for (const s of specs) {
  new Chart(document.getElementById(s.id), {
    type: 'line',
    data: { datasets: s.series.map((d, i) => ({ label: d.label, data: d.points, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], tension: 0, pointRadius: 3 })) },
    options: { animation: false, maintainAspectRatio: false, responsive: true,
      plugins: { title: { display: true, text: s.title } },
      scales: { x: { type: 'linear', title: { display: true, text: s.xLabel } }, y: { title: { display: true, text: s.yLabel } } } },
  });
  drawn++;
}
window.__chartsDrawn = drawn;
</script>
</body></html>
`;
}

function settingSection(setting: Setting, cells: Cell[], charts: ChartSpec[]): string {
  const pooled = poolShots(cells);
  const abilities = uniqueSorted(pooled.map((c) => c.ability));
  const presses = uniqueSorted(pooled.filter((c) => c.press !== 'full').map((c) => c.press));
  const ratios = uniqueSorted(pooled.map((c) => c.ratio), byNum);
  const cell = (ability: string, press: string, ratio: number) =>
    pooled.find((c) => c.ability === ability && c.ratio === ratio && (ratio === 0 ? c.press === 'full' : c.press === press));
  const out: string[] = [`<h2>${esc(setting)}</h2>`];

  out.push('<h3>Score by ability</h3><div class="grid">');
  for (const ability of abilities) {
    const id = `c${charts.length}`;
    charts.push({
      id,
      title: `${ability}: score vs KV kept`,
      xLabel: 'KV kept (%)',
      yLabel: 'score (%)',
      series: presses.map((p) => ({
        label: p,
        points: ratios.flatMap((r) => {
          const c = cell(ability, p, r);
          return c ? [{ x: measuredKept(c), y: 100 * c.score }] : [];
        }),
      })),
    });
    out.push(`<div class="chart"><canvas id="${id}"></canvas></div>`);
  }
  out.push('</div>');

  for (const ability of abilities) {
    const full = cell(ability, 'full', 0);
    const rows = presses.map((p) => [
      esc(p),
      ...ratios.map((r) => {
        const c = cell(ability, p, r);
        if (!c) return '–';
        if (!full || r === 0) return pct(c.score);
        const d = c.score - full.score;
        const cls = d < -0.15 ? 'bad' : d < -0.03 ? 'warn' : 'good';
        return `<span class="${cls}">${pct(c.score)} (${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)})</span>`;
      }),
    ]);
    out.push(`<h3>${esc(ability)}</h3>${table(['press \\ KV kept', ...ratios.map((r) => `${kvKeptPercent(r)}%`)], rows)}`);
  }

  const fidelity = (metric: 'kl' | 'top1', title: string, yLabel: string, scale: number) => {
    const id = `c${charts.length}`;
    charts.push({
      id,
      title,
      xLabel: 'KV kept (%)',
      yLabel,
      series: presses.map((p) => ({
        label: p,
        points: ratios.flatMap((r) => {
          const cs = pooled.filter((c) => c.ratio === r && (r === 0 ? c.press === 'full' : c.press === p));
          if (!cs.length) return [];
          const n = cs.reduce((a, c) => a + c.n, 0);
          const kept = (100 * cs.reduce((a, c) => a + (c.kvBytes / c.kvBytesFull) * c.n, 0)) / n;
          return [{ x: Math.round(kept * 10) / 10, y: (scale * cs.reduce((a, c) => a + c[metric] * c.n, 0)) / n }];
        }),
      })),
    });
    return `<div class="chart"><canvas id="${id}"></canvas></div>`;
  };
  out.push(`<h3>Fidelity to the full cache (all abilities)</h3><div class="grid">${fidelity('kl', 'next-token KL vs full cache', 'KL (nats)', 1)}${fidelity('top1', 'top-1 agreement with full cache', 'agreement (%)', 100)}</div>`);

  const shots = uniqueSorted(cells.map((c) => c.shots), byNum);
  if (shots.length > 1) {
    out.push('<h3>Shots: degradation against the full cache, mean over presses</h3><div class="grid">');
    for (const ability of abilities) {
      const id = `c${charts.length}`;
      charts.push({
        id,
        title: `${ability}: Δ score vs number of shots`,
        xLabel: 'shots',
        yLabel: 'Δ score (points)',
        series: ratios
          .filter((r) => r > 0)
          .map((r) => ({
            label: `KV kept ${kvKeptPercent(r)}%`,
            points: shots.flatMap((s) => {
              const full = cells.find((c) => c.ability === ability && c.shots === s && c.ratio === 0);
              const cs = cells.filter((c) => c.ability === ability && c.shots === s && c.ratio === r);
              if (!full || !cs.length) return [];
              return [{ x: s, y: 100 * (cs.reduce((a, c) => a + c.score, 0) / cs.length - full.score) }];
            }),
          })),
      });
      out.push(`<div class="chart"><canvas id="${id}"></canvas></div>`);
    }
    out.push('</div>');
  }

  const kvRows = presses.map((p) => [
    esc(p),
    ...ratios.map((r) => {
      const cs = pooled.filter((c) => c.ratio === r && (r === 0 ? c.press === 'full' : c.press === p));
      if (!cs.length) return '–';
      const kv = cs.reduce((a, c) => a + c.kvBytes, 0) / cs.length;
      const full = cs.reduce((a, c) => a + c.kvBytesFull, 0) / cs.length;
      return `${(kv / 1024).toFixed(1)} KiB (${pct(kv / full)})`;
    }),
  ]);
  out.push(`<h3>KV cache bytes per example (mean), share of the full cache</h3>${table(['press \\ KV kept', ...ratios.map((r) => `${kvKeptPercent(r)}%`)], kvRows)}`);
  return out.join('\n');
}
