import { HeadCache } from '../../src/cache/head-cache.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { CacheLayerView } from '../../src/press/layer-view.js';
import { Model } from '../../src/model/model.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';

/** Deterministic uniform numbers for synthetic layers. */
export const rng = mulberry32;

/** One synthetic layer right after a prefill of T tokens: random post-RoPE keys, values and queries. */
export interface SyntheticLayer {
  config: ModelConfig;
  heads: HeadCache[];
  queries: Float32Array;
  T: number;
  view: CacheLayerView;
}

export function syntheticLayer(opts: {
  T: number;
  seed?: number;
  nHeads?: number;
  nKvHeads?: number;
  headDim?: number;
  layer?: number;
  nLayers?: number;
  scale?: number;
  trackAttentionSums?: boolean;
}): SyntheticLayer {
  const config = tinyConfig({
    nHeads: opts.nHeads ?? 4,
    nKvHeads: opts.nKvHeads ?? 2,
    headDim: opts.headDim ?? 6,
    nLayers: opts.nLayers ?? 2,
    maxSeqLen: 4096,
  });
  const { T } = opts;
  const r = rng(opts.seed ?? 1);
  const scale = opts.scale ?? 1.5;
  const d = config.headDim;
  const heads = Array.from({ length: config.nKvHeads }, () => {
    const h = new HeadCache(d, 4, opts.trackAttentionSums ?? false);
    for (let t = 0; t < T; t++) {
      const k = Float32Array.from({ length: d }, () => (r() * 2 - 1) * scale);
      const v = Float32Array.from({ length: d }, () => (r() * 2 - 1) * scale);
      h.append(k, 0, v, 0, t);
    }
    return h;
  });
  const queries = Float32Array.from({ length: T * config.nHeads * d }, () => (r() * 2 - 1) * scale);
  return { config, heads, queries, T, view: viewOf(config, heads, queries, T, opts.layer ?? 0) };
}

export function viewOf(config: ModelConfig, heads: HeadCache[], queries: Float32Array, n: number, layer = 0, startPos = 0): CacheLayerView {
  return new CacheLayerView({ layer, queries, n, startPos, heads }, config, Array.from({ length: startPos + n }, (_, i) => i % config.vocabSize));
}

/**
 * Naive float64 oracle: group-mean softmax weights of the last `rows` query rows on KV head h's
 * entries (softmax over every entry at a position ≤ the row's), rows × T as number[][].
 */
export function naiveWindowAttention(s: { config: ModelConfig; heads: HeadCache[]; queries: Float32Array }, n: number, h: number, rows: number, startPos = 0): number[][] {
  const { nHeads, nKvHeads, headDim: d } = s.config;
  const g = nHeads / nKvHeads;
  const head = s.heads[h]!;
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const t = n - rows + r;
    const pos = startPos + t;
    const row = new Array<number>(head.length).fill(0);
    for (let qi = 0; qi < g; qi++) {
      const qh = h * g + qi;
      const logits: number[] = [];
      for (let j = 0; j < head.length; j++) {
        if (head.positions[j]! > pos) {
          logits.push(-Infinity);
          continue;
        }
        let dot = 0;
        for (let i = 0; i < d; i++) dot += s.queries[(t * nHeads + qh) * d + i]! * head.keys[j * d + i]!;
        logits.push(dot / Math.sqrt(d));
      }
      const m = Math.max(...logits);
      const e = logits.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((x, j) => (row[j]! += x / z / g));
    }
    out.push(row);
  }
  return out;
}

/** Indices of the k largest values (ties by lower index), sorted ascending: the naive top-k. */
export function naiveTopK(scores: number[], k: number, forced: Set<number> = new Set()): number[] {
  const rest = scores.map((s, i) => ({ s, i })).filter((x) => !forced.has(x.i));
  rest.sort((a, b) => b.s - a.s || a.i - b.i);
  const picked = [...forced, ...rest.slice(0, Math.max(0, k - forced.size)).map((x) => x.i)];
  return picked.sort((a, b) => a - b);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A byte-per-character tokenizer for random models (ids = char code mod vocab, no EOS in range 3+). */
export function charTokenizer(vocabSize: number): Tokenizer {
  return {
    vocabSize,
    bosId: 1,
    eosIds: [2],
    encode: (text, o) => [...(o?.addBos ? [1] : []), ...[...text].map((c) => 3 + (c.charCodeAt(0) % (vocabSize - 3)))],
    decode: (ids) => ids.map((i) => String.fromCharCode(i)).join(''),
    piece: (id) => String.fromCharCode(id),
    isSpecial: (id) => id < 3,
  };
}

/** A tiny random model (GQA by default) with its tokenizer. */
export function tinyModel(over: Partial<ModelConfig> = {}, seed = 3): { model: Model; tokenizer: Tokenizer } {
  const config = tinyConfig({ nLayers: 3, maxSeqLen: 96, ...over });
  return { model: Model.fromCheckpoint(toCheckpoint(randomModel(config, seed, 0.5))), tokenizer: charTokenizer(config.vocabSize) };
}

/** n pseudo-random token ids in [3, vocab). */
export function randomIds(n: number, vocab: number, seed = 7): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => 3 + Math.floor(r() * (vocab - 3)));
}
