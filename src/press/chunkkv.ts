import { headKeepCounts, keepsAll } from './budget.js';
import { chunkKeep, chunkScores, rankChunks } from './chunk-select.js';
import type { LayerView } from './layer-view.js';
import { oneOf, positiveInt } from './param-checks.js';
import type { Budget, Keep, Press } from './press.js';
import type { PressEntry } from './registry-entry.js';
import { sameEntries, samePositions } from './same-entries.js';

export interface ChunkKVOptions {
  /** Observation window W: the last W prompt queries score the chunks; their entries are always kept. */
  window: number;
  chunkSize: number;
  /** Layer-wise index reuse depth N: layers with ℓ mod N ≠ 0 reuse the chunk ranking of layer ⌊ℓ/N⌋·N (1 = none). */
  reuse: number;
  aggregate: 'sum' | 'mean';
  /** Each KV head ranks its own chunks (default: one ranking per layer, scores summed over KV heads). */
  perHead: boolean;
}

export const chunkkvDefaults: ChunkKVOptions = { window: 32, chunkSize: 10, reuse: 1, aggregate: 'sum', perHead: false };

/** What one prefill did per layer (for the report and the heatmap page). */
export interface ChunkKVLayerReport {
  layer: number;
  /** The layer took the ranking of an earlier layer instead of scoring. */
  reused: boolean;
  /** Time spent scoring and ranking (0 when reused): the prefill time reuse saves. */
  scoreMs: number;
  /** Mean over KV heads of |I_ℓ ∩ I_ℓ−1| / |I_ℓ ∪ I_ℓ−1| of kept positions (null for the first compressed layer). */
  jaccardWithPrevious: number | null;
  /** Kept absolute positions per KV head. */
  kept: Int32Array[];
}

/** The ranking a source layer computed, reusable by the next N − 1 layers holding the same entries. */
interface Ranking {
  layer: number;
  positions: Int32Array[];
  windows: number[];
  orders: Int32Array[];
}

/**
 * ChunkKV (methods.md §10): window attention scores summed per chunk, whole chunks kept by rank
 * under an exact per-head budget, the window always kept; with `reuse` N, only every N-th layer
 * scores. Per-prompt state (the ranking being reused, the report) lives in this instance: use one
 * instance per prompt (a new prompt restarts at layer 0, which always scores afresh).
 */
export class ChunkKVPress implements Press {
  readonly name = 'chunkkv';
  private ranking: Ranking | undefined;
  private layers: ChunkKVLayerReport[] = [];

  constructor(readonly opts: ChunkKVOptions = chunkkvDefaults) {}

  beginPrefill(): void {
    this.ranking = undefined;
    this.layers = [];
  }

  compress(view: LayerView, budget: Budget): Keep | null {
    const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
    const nKeep = headKeepCounts(view, budget);
    if (keepsAll(view, nKeep)) return null;
    let r = this.reusable(view);
    const t0 = performance.now();
    if (!r) r = this.ranking = this.rank(view);
    const scoreMs = r.layer === view.layer ? performance.now() - t0 : 0;
    const keep = heads.map((h) => chunkKeep(r.orders[h]!, view.length(h), r.windows[h]!, this.opts.chunkSize, nKeep[h]!));
    const kept = heads.map((h) => keep[h]!.map((i) => view.positions(h)[i]!));
    const prev = this.layers.at(-1);
    const jaccardWithPrevious = prev && prev.layer === view.layer - 1 ? heads.reduce((s, h) => s + jaccard(kept[h]!, prev.kept[h]!), 0) / heads.length : null;
    this.layers.push({ layer: view.layer, reused: r.layer !== view.layer, scoreMs, jaccardWithPrevious, kept });
    return keep;
  }

  /** Per compressed layer of the last prefill: reuse, scoring time, similarity to the previous layer. */
  report(): readonly ChunkKVLayerReport[] {
    return this.layers;
  }

  /** The source layer's ranking when this layer may reuse it and holds the same entries. */
  private reusable(view: LayerView): Ranking | undefined {
    const r = this.ranking;
    if (!r || view.layer % this.opts.reuse === 0 || view.layer <= r.layer || view.layer - r.layer >= this.opts.reuse) return undefined;
    for (let h = 0; h < view.kvHeads; h++) if (!samePositions(view.positions(h), r.positions[h]!)) return undefined;
    return r;
  }

  private rank(view: LayerView): Ranking {
    const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
    const windows = heads.map((h) => Math.max(1, Math.min(this.opts.window, view.processed.n, view.length(h))));
    const tokenScores = heads.map((h) => windowColumnSums(view, h, windows[h]!));
    const rankOf = (scores: Float64Array, h: number) =>
      rankChunks(chunkScores(scores, view.length(h) - windows[h]!, this.opts.chunkSize, this.opts.aggregate));
    let orders: Int32Array[];
    if (this.opts.perHead || !sameGeometry(view, windows)) orders = heads.map((h) => rankOf(tokenScores[h]!, h));
    else {
      // One ranking per layer: token scores summed over the KV heads (kvpress; methods.md §10).
      const total = new Float64Array(tokenScores[0]!.length);
      for (const s of tokenScores) for (let j = 0; j < s.length; j++) total[j] += s[j]!;
      const order = rankOf(total, 0);
      orders = heads.map(() => order);
    }
    return { layer: view.layer, positions: heads.map((h) => view.positions(h).slice()), windows, orders };
  }
}

/** Sum over the last w query rows of head h's (group-mean) attention on each entry before the window. */
function windowColumnSums(view: LayerView, h: number, w: number): Float64Array {
  const T = view.length(h);
  const a = view.attention(h, { rows: w });
  const out = new Float64Array(T - w);
  for (let r = 0; r < w; r++) for (let j = 0; j < T - w; j++) out[j] += a[r * T + j]!;
  return out;
}

function sameGeometry(view: LayerView, windows: number[]): boolean {
  return windows.every((w) => w === windows[0]) && sameEntries(view);
}

/** Jaccard similarity of two sorted position sets. */
export function jaccard(a: Int32Array, b: Int32Array): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  const union = a.length + b.length - inter;
  return union === 0 ? 1 : inter / union;
}

export function chunkkvOptions(p: Record<string, unknown>): ChunkKVOptions {
  return {
    window: positiveInt(p.window, 'window'),
    chunkSize: positiveInt(p.chunkSize, 'chunkSize'),
    reuse: positiveInt(p.reuse, 'reuse'),
    aggregate: oneOf(p.aggregate, 'aggregate', ['sum', 'mean']),
    perHead: p.perHead === true,
  };
}

export const chunkkvEntry: PressEntry = {
  name: 'chunkkv',
  description: 'ChunkKV: keeps whole chunks of the prompt ranked by observation-window attention; optional layer-wise index reuse',
  params: [
    { name: 'window', default: chunkkvDefaults.window, description: 'observation window: the last W prompt queries (always kept)' },
    { name: 'chunkSize', default: chunkkvDefaults.chunkSize, description: 'entries per chunk' },
    { name: 'reuse', default: chunkkvDefaults.reuse, description: 'layer-wise index reuse depth N (1 = every layer scores)' },
    { name: 'aggregate', default: chunkkvDefaults.aggregate, description: "chunk score: 'sum' (paper) or 'mean' (kvpress)" },
    { name: 'perHead', default: chunkkvDefaults.perHead, description: 'each KV head ranks its own chunks' },
  ],
  create: (p) => new ChunkKVPress(chunkkvOptions(p)),
};
