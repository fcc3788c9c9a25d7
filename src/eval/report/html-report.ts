import { FULL_CACHE, recordKey, type ResultRecord, type Setting } from '../result.js';
import { aggregate, cellInBin, KEPT_BINS, keptBin, keptOffNominal, uniqueSorted, type Cell } from './aggregate.js';
import { chartJsSource } from './chart-library.js';
import { findings, type Finding } from './findings.js';
import { pairedDelta, seedOf, type Estimate } from './statistics.js';
import { esc, scriptJson, table } from '../../inspect/html.js';

/** Examples of one task × shot count a run shortened or skipped to fit the model's context. */
export interface FitNoteMeta {
  task: string;
  shots: number;
  note: string;
  skipped: boolean;
  examples: number;
}

/** A model of a run: its size beside what its KV cache costs. */
export interface ModelMeta {
  name: string;
  path: string;
  weightBytes: number;
  /** Bytes one token adds to the float32 KV cache. */
  kvBytesPerToken: number;
  modelCard?: string;
}

/** What the runner knows beyond the records: shown in the report's settings section. */
export interface ReportMeta {
  title?: string;
  settings?: Record<string, string | number>;
  models?: ModelMeta[];
  fitNotes?: (FitNoteMeta & { model?: string })[];
}

/** One results file of the report, with its run's meta (a merged report keeps each file's settings and model). */
export interface ReportSource {
  file: string;
  meta: ReportMeta;
  records: number;
}

interface ChartSpec {
  id: string;
  title: string;
  kind: 'line' | 'bar';
  xLabel: string;
  yLabel: string;
  /** Fixed axis ranges, so charts compare at a glance (never auto-scaled to the data). */
  x?: { min: number; max: number };
  y: { min: number; max: number };
  labels?: string[];
  series: { label: string; points: { x: number | string; y: number; lo?: number; hi?: number }[] }[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const signed = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
const interval = (e: Estimate) => `[${(100 * e.lo).toFixed(1)}, ${(100 * e.hi).toFixed(1)}]`;
const byNum = (a: number, b: number) => a - b;
const SCORE_AXIS = { min: 0, max: 100 };
const DELTA_AXIS = { min: -100, max: 100 };

/** A self-contained HTML report: the paper's findings first, then Δ tables at measured memory, charts, memory checks and the runs' settings. */
export function renderReport(input: readonly ResultRecord[], sources: readonly ReportSource[] = []): string {
  // One canonical order: the report (means, bootstrap draws, tie-breaks) does not depend on how files were merged.
  const records = [...input].sort((a, b) => (recordKey(a) < recordKey(b) ? -1 : recordKey(a) > recordKey(b) ? 1 : 0));
  const charts: ChartSpec[] = [];
  const models = uniqueSorted(records.map((r) => r.model));
  const sections: string[] = [findingsSection(findings(records), charts)];
  for (const model of models) {
    const mine = records.filter((r) => r.model === model);
    for (const setting of uniqueSorted(mine.map((r) => r.setting))) {
      const rs = mine.filter((r) => r.setting === setting);
      sections.push(settingSection(models.length > 1 ? `${model} · ${setting}` : setting, setting, rs, charts));
    }
  }
  sections.push(attentionSection(records, charts));
  sections.push(memoryCheckSection(aggregate(records)));
  sections.push(fitSection(sources));
  sections.push(modelsSection(records, sources));
  const title = sources.length === 1 ? (sources[0]!.meta.title ?? 'kvtrim study') : `kvtrim study — ${sources.length || 1} result files`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;padding:0 16px}
h1{font-size:24px}h2{border-bottom:2px solid #dde3ee;padding-bottom:4px;margin-top:36px}h3{margin:20px 0 6px}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde3ee;padding:3px 8px;text-align:right}th{background:#f3f6fb}td:first-child,th:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:16px}
.chart{border:1px solid #e5e9f2;border-radius:6px;padding:8px;height:260px;position:relative}
.finding{border:1px solid #dde3ee;border-radius:8px;padding:10px 14px;display:grid;grid-template-columns:1fr 340px;gap:12px;margin:10px 0}
.finding .chart{height:200px}
.verdict{font-weight:600;padding:1px 8px;border-radius:10px}
.v-holds{background:#e3f6e8}.v-does-not-hold{background:#fde2e1}.v-not-measurable-here{background:#eceff4}
.bad{background:#fde2e1}.warn{background:#fff4d6}.good{background:#e3f6e8}.flag{color:#b3261e;font-weight:600}
small{color:#5b6475}pre{background:#f6f8fb;padding:12px;overflow:auto;white-space:pre-wrap}
.note{color:#5b6475}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="note">Scores are task accuracy (0–100 %); Δ is the change against the full cache in points, paired on the same examples, with its 95 % bootstrap interval in brackets; score intervals are Wilson (0/1 scores) or bootstrap (partial credit), all seeded. “KV kept” is the share of the compressed prompt's KV entries a press kept, <em>measured</em> from the cache after prefill: tables place each method by what it kept (bins), never by its nominal ratio; charts plot it on the x axis. Points whose measured kept differs from nominal by more than 2 points are flagged ⚠. The random press is a control and is left out of the findings.</p>
${sections.join('\n')}
${sourcesSection(sources)}
<script>${chartJsSource()}</script>
<script>
const specs = ${scriptJson(charts)};
const palette = ['#3266c8','#d9534f','#2e9d5b','#e08a1e','#8250c4','#1aa3a3','#b8418a','#6b7a8f','#a0792d','#4a9fe0','#c0392b','#27ae60'];
const markers = ['circle','rect','triangle','rectRot','star','crossRot','cross','rectRounded','dash','line'];
const dashes = [[], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3], [10, 4]];
let drawn = 0;
for (const s of specs) {
  const datasets = s.kind === 'bar'
    ? [{ label: 'mean', data: s.series[0].points.map((p) => p.y), backgroundColor: '#3266c8', grouped: false, barPercentage: 0.35, order: 1 },
       { label: '95 % interval', data: s.series[0].points.map((p) => [p.lo, p.hi]), backgroundColor: 'rgba(217,83,79,0.3)', borderColor: '#d9534f', borderWidth: 1, grouped: false, barPercentage: 0.8, order: 2 }]
    : s.series.map((d, i) => ({ label: d.label, data: d.points, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
        pointStyle: markers[i % markers.length], pointRadius: 5, borderDash: dashes[i % dashes.length], tension: 0 }));
  const chart = new Chart(document.getElementById(s.id), {
    type: s.kind,
    data: s.kind === 'bar' ? { labels: s.labels, datasets } : { datasets },
    options: { animation: false, maintainAspectRatio: false, responsive: true,
      plugins: { title: { display: true, text: s.title }, legend: { display: true } },
      scales: { x: s.kind === 'bar' ? { title: { display: true, text: s.xLabel } } : { type: 'linear', min: s.x.min, max: s.x.max, title: { display: true, text: s.xLabel } },
                y: { min: s.y.min, max: s.y.max, title: { display: true, text: s.yLabel } } } },
  });
  document.getElementById(s.id).dataset.drawn = String(chart.data.datasets.length);
  drawn++;
}
window.__chartsDrawn = drawn;
</script>
</body></html>
`;
}

function findingsSection(fs: Finding[], charts: ChartSpec[]): string {
  const panels = fs.map((f) => {
    const id = `c${charts.length}`;
    const scale = 100;
    if (f.values.length)
      charts.push({
        id,
        kind: 'bar',
        title: f.unit === '%' ? 'share of attention (%)' : 'Δ score vs full cache (points)',
        xLabel: '',
        yLabel: f.unit,
        y: f.unit === '%' ? SCORE_AXIS : DELTA_AXIS,
        labels: f.values.map((v) => v.label),
        series: [{ label: f.title, points: f.values.map((v) => ({ x: v.label, y: scale * v.est.mean, lo: scale * v.est.lo, hi: scale * v.est.hi })) }],
      });
    const cls = `v-${f.verdict.replaceAll(' ', '-')}`;
    return `<div class="finding" data-finding="${esc(f.id)}" data-verdict="${esc(f.verdict)}"><div><h3>${esc(f.title)} <small>${esc(f.setting)}</small></h3>
<p><span class="verdict ${cls}">${esc(f.verdict)}</span> <span class="why">${esc(f.why)}</span></p>
<p class="note">Paper (arXiv 2502.01941): ${esc(f.claim)} The paper's figure is not reproduced here; this panel is the same comparison on this study's data.</p></div>
${f.values.length ? `<div class="chart"><canvas id="${id}"></canvas></div>` : '<div class="note">no chart: nothing to compare</div>'}</div>`;
  });
  return `<h2>Findings of the paper, checked on this data</h2>${panels.join('\n')}`;
}

/** Δ of every non-control press pooled, per ability and kept bin (the headline table). */
function deltaTable(rs: readonly ResultRecord[], key: string): string {
  const full = new Map(rs.filter((r) => r.press === FULL_CACHE).map((r) => [[r.model, r.task, r.shots, r.example, r.decode_ratio].join('|'), r.score]));
  const abilities = uniqueSorted(rs.map((r) => r.ability));
  const rows = abilities.map((a) => [
    esc(a),
    ...KEPT_BINS.map((_, b) => {
      const pairs = rs
        .filter((r) => r.ability === a && r.press !== FULL_CACHE && r.press !== 'random' && r.press !== 'random-shot' && keptBin(r.prefill_kept) === b)
        .flatMap((r) => {
          const f = full.get([r.model, r.task, r.shots, r.example, r.decode_ratio].join('|'));
          return f === undefined ? [] : [{ score: r.score, full: f }];
        })
        .sort((x, y) => x.score - y.score || x.full - y.full);
      if (!pairs.length) return '–';
      const d = pairedDelta(pairs, seedOf(`${key} ${a} ${b}`));
      return `<span class="${d.hi < 0 ? 'bad' : d.lo > 0 ? 'good' : ''}">${signed(d.mean)} ${interval(d)}</span> <small>n=${d.n}</small>`;
    }),
  ]);
  return table(['ability \\ KV kept (measured)', ...KEPT_BINS.map((b) => b.label)], rows);
}

function settingSection(heading: string, setting: Setting, rs: ResultRecord[], charts: ChartSpec[]): string {
  const pooled = aggregate(rs, { poolShots: true });
  const abilities = uniqueSorted(pooled.map((c) => c.ability));
  const series = uniqueSorted(pooled.filter((c) => c.press !== FULL_CACHE).map((c) => c.series));
  const out: string[] = [`<h2>${esc(heading)}</h2>`];
  out.push(`<h3>Δ against the full cache by ability and measured KV kept (presses pooled, random excluded)</h3>${deltaTable(rs, setting)}`);

  out.push('<h3>Score vs measured KV kept</h3><div class="grid">');
  for (const ability of abilities) {
    const id = `c${charts.length}`;
    const full = pooled.find((c) => c.ability === ability && c.press === FULL_CACHE);
    charts.push({
      id,
      kind: 'line',
      title: `${ability}: score vs KV kept`,
      xLabel: 'KV kept, measured (%)',
      yLabel: 'score (%)',
      x: { min: 0, max: 100 },
      y: SCORE_AXIS,
      series: [
        ...series.map((s) => ({
          label: s,
          points: pooled
            .filter((c) => c.ability === ability && c.series === s)
            .map((c) => ({ x: 100 * c.kept, y: 100 * c.score.mean }))
            .sort((a, b) => a.x - b.x),
        })),
        ...(full ? [{ label: 'full cache', points: [{ x: 100, y: 100 * full.score.mean }] }] : []),
      ],
    });
    out.push(`<div class="chart"><canvas id="${id}"></canvas></div>`);
  }
  out.push('</div>');

  for (const ability of abilities) {
    const full = pooled.find((c) => c.ability === ability && c.press === FULL_CACHE);
    const rows = series.map((s) => {
      const cells = pooled.filter((c) => c.ability === ability && c.series === s);
      return [esc(s), ...KEPT_BINS.map((_, b) => cellText(cellInBin(cells, b)))];
    });
    const fullText = full ? `full cache: ${pct(full.score.mean)} ${interval(full.score)} (n = ${full.score.n})${safetyRates(full)}` : 'no full-cache records';
    out.push(`<h3>${esc(ability)}</h3><p class="note">${fullText}</p>${table(['press \\ KV kept (measured)', ...KEPT_BINS.map((b) => b.label)], rows)}`);
  }

  const shots = uniqueSorted(rs.map((r) => r.shots), byNum);
  if (shots.length > 1) {
    out.push('<h3>Shots: Δ against the full cache by number of shots, per press (abilities pooled)</h3><div class="grid">');
    const byShots = aggregate(rs.map((r) => ({ ...r, ability: 'all' })));
    for (const s of series) {
      const id = `c${charts.length}`;
      const cells = byShots.filter((c) => c.series === s && c.delta);
      charts.push({
        id,
        kind: 'line',
        title: `${s}: Δ vs shots`,
        xLabel: 'shots',
        yLabel: 'Δ score (points)',
        x: { min: Math.min(...shots), max: Math.max(...shots) },
        y: DELTA_AXIS,
        series: KEPT_BINS.map((bin, b) => ({
          label: `KV kept ${bin.label}`,
          points: shots.flatMap((n) => {
            const c = cellInBin(cells.filter((c) => c.shots === n), b);
            return c ? [{ x: n, y: 100 * c.delta!.mean }] : [];
          }),
        })).filter((x) => x.points.length),
      });
      out.push(`<div class="chart"><canvas id="${id}"></canvas></div>`);
    }
    out.push('</div>');
  }

  const kvRows = series.map((s) => [
    esc(s),
    ...uniqueSorted(pooled.filter((c) => c.series === s).map((c) => c.point)).map((p) => {
      const cs = pooled.filter((c) => c.series === s && c.point === p);
      const kept = cs.reduce((a, c) => a + c.kept, 0) / cs.length;
      const final = cs.reduce((a, c) => a + c.finalKept, 0) / cs.length;
      return `${esc(p)}: prefill ${pct(kept)}, end ${pct(final)}`;
    }),
  ]);
  out.push(`<h3>Measured KV kept per setting of each press (mean over abilities)</h3>${table(['press', 'points'], kvRows.map((r) => [r[0]!, r.slice(1).join('<br>')]))}`);
  return out.join('\n');
}

function safetyRates(c: Cell): string {
  return c.refusal || c.answer
    ? ` — refusal rate (must refuse) ${c.refusal ? `${pct(c.refusal.mean)} ${interval(c.refusal)}` : '–'}, answer rate (may answer) ${c.answer ? `${pct(c.answer.mean)} ${interval(c.answer)}` : '–'}`
    : '';
}

function cellText(c: Cell | undefined): string {
  if (!c) return '–';
  const d = c.delta;
  const cls = !d ? '' : d.hi < 0 ? 'bad' : d.mean < -0.03 ? 'warn' : 'good';
  const flag = keptOffNominal(c) ? ` <span class="flag" title="measured kept differs from nominal ${pct(c.nominalKept!)} by more than 2 points">⚠</span>` : '';
  const rates = c.refusal || c.answer ? `<br><small>refuse ${c.refusal ? pct(c.refusal.mean) : '–'} · answer ${c.answer ? pct(c.answer.mean) : '–'}</small>` : '';
  return `<span class="${cls}">${pct(c.score.mean)}${d ? ` (${signed(d.mean)} ${interval(d)})` : ''}</span>${flag}<br><small>kept ${pct(c.kept)} · ${esc(c.point)} · n=${c.score.n}</small>${rates}`;
}

function attentionSection(records: readonly ResultRecord[], charts: ChartSpec[]): string {
  const rs = records.filter((r) => r.attention);
  if (!rs.length) return '';
  const tasks = uniqueSorted(rs.map((r) => r.task));
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = tasks.map((t) => {
    const a = rs.filter((r) => r.task === t).map((r) => r.attention!);
    const shotMass = a.flatMap((x) => x.shots);
    return [esc(t), String(a.length), m(a.map((x) => x.entropy)).toFixed(2), pct(m(a.map((x) => x.top10))), pct(m(a.map((x) => x.system))), pct(m(a.map((x) => x.systemShare))), shotMass.length ? pct(m(shotMass)) : '–'];
  });
  const id = `c${charts.length}`;
  charts.push({
    id,
    kind: 'bar',
    title: "question's attention: top-10 % mass by task",
    xLabel: 'task',
    yLabel: '%',
    y: SCORE_AXIS,
    labels: tasks,
    series: [{ label: 'top-10 % mass', points: tasks.map((t) => {
      const xs = rs.filter((r) => r.task === t).map((r) => r.attention!.top10);
      const v = m(xs);
      return { x: t, y: 100 * v, lo: 100 * Math.min(...xs), hi: 100 * Math.max(...xs) };
    }) }],
  });
  return `<h2>Attention by task (full cache, question-aware)</h2><p class="note">The question's query rows over the whole prompt, averaged over layers and KV heads (the ShotKV study's head statistics). The bar chart's red range is the spread over examples.</p>
${table(['task', 'examples', 'entropy (nats)', 'top-10 % mass', 'mass on system prompt', 'system prompt share of tokens', 'mass per shot'], rows)}
<div class="grid"><div class="chart"><canvas id="${id}"></canvas></div></div>`;
}

function memoryCheckSection(cells: readonly Cell[]): string {
  const off = cells.filter(keptOffNominal);
  const rows = off.map((c) => [esc(c.model), esc(c.setting), esc(c.ability), esc(c.series), esc(c.point), String(c.shots), pct(c.nominalKept!), pct(c.kept)]);
  return `<h2>Memory check</h2><p class="note">${off.length ? `<span class="flag">${off.length} point(s)</span> kept more than 2 points away from their nominal budget: they are placed by what they kept.` : 'Every ratio-driven point kept its nominal budget within 2 points.'}</p>${off.length ? table(['model', 'setting', 'ability', 'press', 'point', 'shots', 'nominal kept', 'measured kept'], rows) : ''}`;
}

function fitSection(sources: readonly ReportSource[]): string {
  const notes = sources.flatMap((s) => (s.meta.fitNotes ?? []).map((n) => ({ ...n, file: s.file })));
  if (!notes.length) return '';
  const rows = notes.map((n) => [esc(n.file + (n.model ? ` · ${n.model}` : '')), esc(n.task), String(n.shots), n.skipped ? '<span class="flag">skipped</span>' : 'shortened', esc(n.note), String(n.examples)]);
  return `<h2>Prompts that did not fit the model</h2>${table(['file', 'task', 'shots asked', '', 'note', 'examples'], rows)}`;
}

const bytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

/** Each model's weights beside its KV cache: per token, and per prompt of the study (full and as kept). */
function modelsSection(records: readonly ResultRecord[], sources: readonly ReportSource[]): string {
  const models = sources.flatMap((s) => s.meta.models ?? []);
  if (!models.length) return '';
  const rows = models.map((m) => {
    const rs = records.filter((r) => r.model === m.name);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const full = mean(rs.filter((r) => r.press === FULL_CACHE).map((r) => r.kv_bytes_full));
    const kept = mean(rs.filter((r) => r.press !== FULL_CACHE).map((r) => r.kv_bytes));
    return [esc(m.name), bytes(m.weightBytes), bytes(m.kvBytesPerToken), rs.length ? bytes(full) : '–', rs.length ? bytes(kept) : '–', rs.length ? pct(full / m.weightBytes) : '–'];
  });
  return `<h2>Models: weights beside the KV cache</h2>${table(['model', 'weights', 'KV per token (float32)', 'KV per prompt, full cache (mean)', 'KV per prompt, compressed (mean over presses)', 'full KV ÷ weights'], rows)}`;
}

function sourcesSection(sources: readonly ReportSource[]): string {
  return sources
    .map(
      (s) => `<h2>Run: ${esc(s.file)}</h2>${table(['setting', 'value'], [['records', String(s.records)], ...Object.entries(s.meta.settings ?? {}).map(([k, v]) => [esc(k), esc(v)])])}
${(s.meta.models ?? []).map((m) => (m.modelCard ? `<details><summary>Model card: ${esc(m.name)}</summary><pre>${esc(m.modelCard)}</pre></details>` : '')).join('\n')}`,
    )
    .join('\n');
}

