import { checkBudget } from './budget.js';
import type { LayerView } from './layer-view.js';
import { nonNegativeInt, positiveInt, unitFraction } from './param-checks.js';
import { pool1d } from './pool1d.js';
import type { Keep, Press } from './press.js';
import type { PressEntry } from './registry-entry.js';
import { selectKeep } from './select-keep.js';

export interface RKVOptions {
  /** Generated entries each head keeps after a compression; 0: floor((1 − decodeRatio) · generated so far). */
  budget: number;
  /** Generated entries that may pile up beyond the budget before the next compression. */
  buffer: number;
  /** α: the newest generated tokens, whose queries score importance; always kept. */
  window: number;
  kernel: number;
  /** λ in λ·importance − (1 − λ)·redundancy. */
  lambda: number;
  /** Cosine similarity above which two generated keys are near-duplicates. */
  threshold: number;
}

export const rkvDefaults: RKVOptions = { budget: 128, buffer: 128, window: 8, kernel: 7, lambda: 0.1, threshold: 0.5 };

/** The last α query rows a layer processed (post-RoPE, all query heads), newest last. */
export interface ObservedQueries {
  rows: Float32Array[];
  positions: number[];
}

/**
 * R-KV's score of head h's generated entries from index `first` up to the observation window
 * (methods.md §20): importance = the observed queries' attention (logits max-pooled over the GQA
 * group, softmax over every entry before the window, mean over rows, max-pooled along positions);
 * redundancy = softmax over the generated entries of their mean cosine similarity to the other
 * generated keys, where each key's most recent near-duplicate (itself when it is the newest) does
 * not count against that duplicate. Returns λ·importance − (1 − λ)·redundancy per candidate.
 */
export function rkvScores(view: LayerView, h: number, first: number, obs: ObservedQueries, o: RKVOptions): Float32Array {
  const d = view.headDim;
  const g = view.groupSize;
  const T = view.length(h);
  const w = Math.min(o.window, T - first);
  const keys = view.keys(h);
  const past = T - w;
  const importance = new Float32Array(past);
  const logits = new Float64Array(past);
  for (const q of obs.rows) {
    let max = -Infinity;
    for (let j = 0; j < past; j++) {
      let best = -Infinity;
      for (let qh = h * g; qh < (h + 1) * g; qh++) {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[qh * d + e]! * keys[j * d + e]!;
        best = Math.max(best, dot / Math.sqrt(d));
      }
      logits[j] = best;
      max = Math.max(max, best);
    }
    let sum = 0;
    for (let j = 0; j < past; j++) sum += logits[j] = Math.exp(logits[j]! - max);
    for (let j = 0; j < past; j++) importance[j] += logits[j]! / sum / obs.rows.length;
  }
  const pooled = pool1d(importance, o.kernel, 'max');
  const G = T - first;
  const unit = new Float64Array(G * d);
  for (let i = 0; i < G; i++) {
    let n2 = 0;
    for (let e = 0; e < d; e++) n2 += keys[(first + i) * d + e]! ** 2;
    const n = Math.sqrt(n2) + 1e-8;
    for (let e = 0; e < d; e++) unit[i * d + e] = keys[(first + i) * d + e]! / n;
  }
  const colMean = new Float64Array(G);
  const row = new Float64Array(G);
  for (let i = 0; i < G; i++) {
    let newest = i;
    for (let j = 0; j < G; j++) {
      let dot = 0;
      if (j !== i) for (let e = 0; e < d; e++) dot += unit[i * d + e]! * unit[j * d + e]!;
      row[j] = dot;
      if (dot > o.threshold && j > newest) newest = j;
    }
    row[newest] = 0;
    for (let j = 0; j < G; j++) colMean[j] += row[j]! / G;
  }
  let max = -Infinity;
  for (const v of colMean) max = Math.max(max, v);
  let z = 0;
  for (const v of colMean) z += Math.exp(v - max);
  const out = new Float32Array(G - w);
  for (let i = 0; i < G - w; i++) out[i] = o.lambda * pooled[first + i]! - ((1 - o.lambda) * Math.exp(colMean[i]! - max)) / z;
  return out;
}

/**
 * R-KV's decoding phase: prompt entries (and any text prefilled after it) are left alone; once a
 * head holds budget + buffer generated entries, they are cut back to the budget — the α newest and
 * the best-scoring rest. The queries of the last α steps are remembered per layer, so it must run
 * every step (decodeInterval 1; with a longer interval it scores with the rows it saw).
 */
export function rkvDecoding(opts: RKVOptions & { promptEnd: number; decodeRatio: number }): Press {
  checkBudget({ ratio: opts.decodeRatio });
  const observed: ObservedQueries[] = [];
  return {
    name: 'rkv-decoding',
    compress(view: LayerView): Keep | null {
      const obs = (observed[view.layer] ??= { rows: [], positions: [] });
      const { queries, n, startPos } = view.processed;
      const rowLen = view.config.nHeads * view.headDim;
      for (let t = Math.max(0, n - opts.window); t < n; t++) {
        obs.rows.push(queries.slice(t * rowLen, (t + 1) * rowLen));
        obs.positions.push(startPos + t);
      }
      obs.rows.splice(0, Math.max(0, obs.rows.length - opts.window));
      obs.positions.splice(0, Math.max(0, obs.positions.length - opts.window));
      const frozenEnd = Math.max(opts.promptEnd, ...(view.segments ?? []).map((s) => s.end));
      const generated = startPos + n - frozenEnd;
      if (generated <= 0) return null;
      const B = opts.budget > 0 ? opts.budget : Math.max(opts.window, Math.floor((1 - opts.decodeRatio) * generated + 1e-9));
      const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
      const first = heads.map((h) => {
        const i = view.positions(h).findIndex((p) => p >= frozenEnd);
        return i < 0 ? view.length(h) : i;
      });
      if (heads.every((h) => view.length(h) - first[h]! < B + opts.buffer)) return null;
      return heads.map((h) => {
        const T = view.length(h);
        const f = first[h]!;
        if (T - f < B + opts.buffer) return Int32Array.from({ length: T }, (_, j) => j);
        const scores = rkvScores(view, h, f, obs, opts);
        const w = Math.min(opts.window, T - f);
        const kept = selectKeep(scores, B - w);
        const out = new Int32Array(f + kept.length + w);
        for (let j = 0; j < f; j++) out[j] = j;
        kept.forEach((k, i) => (out[f + i] = f + k));
        for (let i = 0; i < w; i++) out[f + kept.length + i] = T - w + i;
        return out;
      });
    },
  };
}

export function rkvOptions(p: Record<string, unknown>): RKVOptions {
  const o = {
    budget: nonNegativeInt(p.budget, 'budget'),
    buffer: positiveInt(p.buffer, 'buffer'),
    window: positiveInt(p.window, 'window'),
    kernel: positiveInt(p.kernel, 'kernel'),
    lambda: unitFraction(p.lambda, 'lambda'),
    threshold: Number(p.threshold),
  };
  if (!(o.threshold >= -1 && o.threshold <= 1)) throw new RangeError(`threshold must be a cosine in [−1, 1], not ${String(p.threshold)}`);
  if (o.budget > 0 && o.budget <= o.window) throw new RangeError(`budget ${o.budget} must exceed the observation window ${o.window}`);
  return o;
}

export const rkvEntry: PressEntry = {
  name: 'rkv',
  description: 'R-KV: compresses the generated tokens while decoding (importance by attention minus redundancy by key similarity); the prompt is left alone',
  params: [
    { name: 'budget', default: rkvDefaults.budget, description: 'generated entries kept per head after each compression (0: (1 − decodeRatio) × generated so far)' },
    { name: 'buffer', default: rkvDefaults.buffer, description: 'generated entries gathered beyond the budget before compressing again' },
    { name: 'window', default: rkvDefaults.window, description: 'α: newest generated tokens whose queries score importance (always kept)' },
    { name: 'kernel', default: rkvDefaults.kernel, description: 'max-pooling kernel along positions for the importance' },
    { name: 'lambda', default: rkvDefaults.lambda, description: 'λ: weight of importance against redundancy' },
    { name: 'threshold', default: rkvDefaults.threshold, description: 'cosine similarity above which generated keys count as near-duplicates' },
  ],
  create: (p) => {
    const o = rkvOptions(p);
    return {
      name: 'rkv',
      // A decoding method: the prompt is not compressed (kvtrim choice, methods.md §20).
      compress: () => null,
      decoding: { start: ({ promptEnd, decodeRatio }) => (decodeRatio > 0 ? rkvDecoding({ ...o, promptEnd, decodeRatio }) : undefined) },
    };
  },
};
