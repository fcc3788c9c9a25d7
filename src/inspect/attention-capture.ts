import { attentionWeights, visible } from '../kernels/masked-softmax.js';
import type { AttentionContext } from '../model/hooks.js';
import type { Model } from '../model/model.js';
import type { SegmentRange } from '../press/segment-range.js';
import { HeadStatsAccumulator, type HeadStats } from './head-stats.js';

export interface CaptureOptions {
  /** Layers to capture (default: all). */
  layers?: readonly number[];
  /** Query heads to capture (default: all). */
  heads?: readonly number[];
  /** Capture only the last N query rows (default: every prompt row). */
  lastRows?: number;
  /** Pool query rows and keys in blocks of this many tokens (default: the smallest that fits maxCells). */
  block?: number;
  /** Upper bound on stored cells over all captured heads when `block` is not given (default 4M = 16 MB). */
  maxCells?: number;
  /** Prompt segments as position ranges, for the per-segment attention mass statistic. */
  segments?: readonly SegmentRange[];
}

/** One (layer, query head) attention map, pooled to rows × cols, with its statistics. */
export interface HeadMap {
  layer: number;
  head: number;
  kvHead: number;
  /**
   * rows × cols, row-major. Cell (r, c) = mean over the query rows of block r of the summed weight on
   * the keys of block c, so every row still sums to 1. Keys after a row's position hold 0.
   */
  weights: Float32Array;
  stats: HeadStats;
}

export interface AttentionCapture {
  /** Prompt length: keys cover positions [0, tokens). */
  tokens: number;
  /** First captured query position: rows cover positions [rowStart, tokens). */
  rowStart: number;
  /** Tokens per pooled block (1 = no pooling). */
  block: number;
  rows: number;
  cols: number;
  nHeads: number;
  nKvHeads: number;
  segments: SegmentRange[];
  maps: HeadMap[];
}

const DEFAULT_MAX_CELLS = 4_000_000;

/**
 * Runs the prompt through a fresh cache and records the softmax attention of the chosen layers and
 * query heads, computed from the post-RoPE queries and cached keys the forward pass exposes (scale
 * 1/√d, causal, sliding window respected, GQA query head q reads KV head ⌊q / g⌋).
 */
export function captureAttention(model: Model, tokens: readonly number[], opts: CaptureOptions = {}): AttentionCapture {
  const c = model.config;
  const T = tokens.length;
  if (T === 0) throw new RangeError('captureAttention: empty prompt');
  const layers = checkedList(opts.layers, c.nLayers, 'layer');
  const heads = checkedList(opts.heads, c.nHeads, 'head');
  const lastRows = opts.lastRows ?? T;
  if (!Number.isInteger(lastRows) || lastRows < 1) throw new RangeError(`captureAttention: lastRows must be a positive integer, got ${lastRows}`);
  const rowStart = T - Math.min(lastRows, T);
  const block = opts.block ?? autoBlock(layers.length * heads.length, T - rowStart, T, opts.maxCells ?? DEFAULT_MAX_CELLS);
  if (!Number.isInteger(block) || block < 1) throw new RangeError(`captureAttention: block must be a positive integer, got ${block}`);
  const rows = Math.ceil((T - rowStart) / block);
  const cols = Math.ceil(T / block);
  const segments = [...(opts.segments ?? [])];
  const group = c.nHeads / c.nKvHeads;

  const maps = new Map<string, { map: HeadMap; acc: HeadStatsAccumulator }>();
  for (const layer of layers)
    for (const head of heads)
      maps.set(`${layer}/${head}`, {
        map: { layer, head, kvHead: Math.floor(head / group), weights: new Float32Array(rows * cols), stats: { entropy: 0, top10: 0, segmentMass: [] } },
        acc: new HeadStatsAccumulator(segments),
      });
  const rowsInBlock = (r: number) => Math.min(block, T - rowStart - r * block);

  const afterAttention = (ctx: AttentionContext) => {
    if (!layers.includes(ctx.layer)) return;
    const d = c.headDim;
    const cap = Math.max(...ctx.heads.map((h) => h.length));
    const w = new Float64Array(cap);
    const keyPos = new Int32Array(cap);
    for (let t = 0; t < ctx.n; t++) {
      const pos = ctx.startPos + t;
      if (pos < rowStart) continue;
      const r = Math.floor((pos - rowStart) / block);
      for (const head of heads) {
        const { map, acc } = maps.get(`${ctx.layer}/${head}`)!;
        const kv = ctx.heads[map.kvHead]!;
        const qOff = (t * c.nHeads + head) * d;
        attentionWeights(w, ctx.queries, qOff, kv, pos, c.slidingWindow);
        // The statistics run over the entries the query sees (top-10 % of those, not of the cache).
        let n = 0;
        for (let j = 0; j < kv.length; j++)
          if (visible(kv.positions[j]!, pos, c.slidingWindow)) {
            w[n] = w[j]!;
            keyPos[n++] = kv.positions[j]!;
          }
        acc.add(w, keyPos, n);
        const rowScale = 1 / rowsInBlock(r);
        const base = r * cols;
        for (let j = 0; j < n; j++) map.weights[base + Math.floor(keyPos[j]! / block)]! += w[j]! * rowScale;
      }
    }
  };

  model.forward(tokens, model.newCache(), { hooks: { afterAttention } });
  return {
    tokens: T,
    rowStart,
    block,
    rows,
    cols,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    segments,
    maps: [...maps.values()].map(({ map, acc }) => ({ ...map, stats: acc.result() })),
  };
}

/** The smallest block size whose pooled maps fit the cell budget. */
function autoBlock(nMaps: number, nRows: number, nKeys: number, maxCells: number): number {
  let b = 1;
  while (nMaps * Math.ceil(nRows / b) * Math.ceil(nKeys / b) > maxCells && b < nKeys) b++;
  return b;
}

function checkedList(list: readonly number[] | undefined, count: number, what: string): number[] {
  if (list === undefined) return Array.from({ length: count }, (_, i) => i);
  if (list.length === 0) throw new RangeError(`captureAttention: no ${what}s chosen`);
  for (const i of list)
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`captureAttention: ${what} ${i} outside 0…${count - 1}`);
  return [...new Set(list)].sort((a, b) => a - b);
}
