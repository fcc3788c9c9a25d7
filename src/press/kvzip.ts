import { HeadCache } from '../cache/head-cache.js';
import { KVCache } from '../cache/kv-cache.js';
import type { AttentionContext } from '../model/hooks.js';
import { adaptiveAllocation } from './adaptive-allocation.js';
import { headKeepCounts, keepsAll } from './budget.js';
import { perHeadAllocation } from './head-allocation.js';
import type { LayerView } from './layer-view.js';
import { nonNegativeInt, positiveInt } from './param-checks.js';
import type { Budget, Keep, Press } from './press.js';
import type { PressContext, PressModel } from './press-context.js';
import type { PressEntry } from './registry-entry.js';

export interface KVzipOptions {
  /** Context tokens reconstructed per forward: the scoring never holds more than one chunk's rows. */
  chunk: number;
  /** Initial positions always kept (they also stay in every chunk's softmax). */
  nSink: number;
  /** Compare scores across the layer's heads, so heads keep different amounts (true), or keep n_keep per head. */
  headBudgets: boolean;
  /** Asks for the context again (first chunk); later chunks use `continuePrompt` plus the previous chunk's last `overlap` tokens. */
  prompt: string;
  continuePrompt: string;
  overlap: number;
}

export const kvzipDefaults: KVzipOptions = {
  chunk: 2048,
  nSink: 4,
  headBudgets: true,
  prompt: '\n\nRepeat the text above, word for word.',
  continuePrompt: '\n\nRepeat part of the text above, word for word, starting from',
  overlap: 8,
};

/** One piece of the context to reconstruct: its positions, the teacher-forced input and that input's hidden state at the current layer. */
interface Chunk {
  start: number;
  end: number;
  ids: number[];
  hidden: Float32Array;
}

/**
 * KVzip (methods.md §18): the model is asked to repeat the context and the context is fed as its
 * answer (teacher-forced); an entry scores the most attention any reconstruction query of its KV
 * head's group gives it. The reconstruction runs layer by layer inside the prefill's hooks — at
 * layer l it needs only the layer-l cache, still uncompressed, so the scores are those of a full
 * second forward — in chunks placed after the context. Sinks are kept; the layer's budget is spread
 * across its heads by score (head-level budgets) unless `headBudgets` is off.
 */
export class KVzipPress implements Press {
  readonly name = 'kvzip';
  private recon: Reconstruction | undefined;

  constructor(
    private readonly ctx: PressContext,
    readonly opts: KVzipOptions = kvzipDefaults,
  ) {}

  beginPrefill(): void {
    this.recon = undefined;
  }

  compress(view: LayerView, budget: Budget): Keep | null {
    const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
    const nKeep = headKeepCounts(view, budget);
    if (keepsAll(view, nKeep)) return null;
    if (!this.recon && view.layer !== 0) throw new Error('kvzip: the reconstruction starts at layer 0; compress the layers in order');
    this.recon ??= this.plan(view);
    const scores = this.recon.scores(view);
    const protect = heads.map((h) => Uint8Array.from(view.positions(h), (p) => (p < this.opts.nSink ? 1 : 0)));
    return (this.opts.headBudgets ? adaptiveAllocation(0) : perHeadAllocation)(scores, protect, nKeep);
  }

  /** The reconstruction scores of every KV head of the view's layer (for tests and the heatmap). */
  scores(view: LayerView): Float32Array[] {
    if (view.layer === 0) this.recon = this.plan(view);
    return this.recon!.scores(view);
  }

  /** Chunks of everything processed so far (after any leading special tokens), each behind its repeat prompt. */
  private plan(view: LayerView): Reconstruction {
    const { model, tokenizer } = this.ctx;
    if (!model || !tokenizer) throw new Error("kvzip runs the model: create it with createPress('kvzip', params, { model, tokenizer })");
    const o = this.opts;
    const end = view.processed.startPos + view.processed.n;
    const tokens = view.tokens;
    let first = 0;
    while (first < end - 1 && tokenizer.isSpecial(tokens[first]!)) first++;
    const newline = tokenizer.encode('\n', { addBos: false });
    const asks = [tokenizer.encode(o.prompt, { addBos: false }).length, tokenizer.encode(o.continuePrompt, { addBos: false }).length + o.overlap];
    // Every chunk is placed right after the context: chunks shrink to fit the model's context (kvtrim choice).
    const chunk = Math.min(o.chunk, model.config.maxSeqLen - end - Math.max(...asks) - newline.length);
    if (chunk < 1) throw new RangeError(`kvzip: a ${end}-position context leaves no room for its reconstruction in the model's context of ${model.config.maxSeqLen}`);
    const chunks: Chunk[] = [];
    for (let start = first; start < end; start += chunk) {
      const stop = Math.min(end, start + chunk);
      const ask =
        start === first
          ? tokenizer.encode(o.prompt, { addBos: false })
          : [...tokenizer.encode(o.continuePrompt, { addBos: false }), ...tokens.subarray(Math.max(first, start - o.overlap), start)];
      const ids = [...ask, ...newline, ...tokens.subarray(start, stop)];
      chunks.push({ start, end: stop, ids, hidden: model.embed(ids) });
    }
    return new Reconstruction(model, chunks, end, o.nSink);
  }
}

/** The reconstruction forward of every chunk, advanced one layer per call. */
class Reconstruction {
  private nextLayer = 0;

  constructor(
    private readonly model: PressModel,
    private readonly chunks: Chunk[],
    /** Position of each chunk's first reconstruction token: right after the context. */
    private readonly startPos: number,
    private readonly nSink: number,
  ) {}

  scores(view: LayerView): Float32Array[] {
    const l = view.layer;
    if (l !== this.nextLayer) throw new Error(`kvzip: layer ${l} reached while the reconstruction is at layer ${this.nextLayer}; compress the layers in order`);
    const { nLayers, nKvHeads, headDim: d } = this.model.config;
    const longest = Math.max(...this.chunks.map((c) => c.ids.length));
    // This layer's entries copied into a scratch cache the reconstruction appends to (and is cut back after each chunk).
    const heads = Array.from({ length: nKvHeads }, (_, h) => {
      const T = view.length(h);
      const hc = new HeadCache(d, T + longest);
      const k = view.keys(h);
      const v = view.values(h);
      const pos = view.positions(h);
      for (let j = 0; j < T; j++) hc.append(k, j * d, v, j * d, pos[j]!);
      return hc;
    });
    const cache = new KVCache({ nLayers, nKvHeads, headDim: d }, { heads: Array.from({ length: nLayers }, (_, i) => (i === l ? heads : [])) });
    const out = heads.map((_, h) => new Float32Array(view.length(h)));
    for (const c of this.chunks) {
      this.model.layerForward(l, c.hidden, c.ids.length, cache, this.startPos, { afterAttention: (ctx) => this.maxAttention(ctx, c, view, out) });
      heads.forEach((hc, h) => hc.keep(Int32Array.from({ length: view.length(h) }, (_, j) => j)));
    }
    this.nextLayer = l + 1 === nLayers ? 0 : l + 1;
    return out;
  }

  /**
   * For chunk c: each reconstruction row's softmax over the sinks before the chunk, the chunk's own
   * entries and the reconstruction so far (causal) — the reference's bounded subset — and the max,
   * over rows and the group's query heads, of the weight on each of the chunk's entries.
   */
  private maxAttention(ctx: AttentionContext, c: Chunk, view: LayerView, out: Float32Array[]): void {
    const { nHeads, headDim: d, slidingWindow } = this.model.config;
    const g = nHeads / ctx.heads.length;
    const scale = 1 / Math.sqrt(d);
    ctx.heads.forEach((hc, h) => {
      const T = view.length(h);
      const pos = hc.positions;
      const keys = hc.keys;
      const subset: number[] = [];
      for (let j = 0; j < hc.length; j++) {
        const p = pos[j]!;
        if (j >= T || (p >= c.start && p < c.end) || (p < this.nSink && p < c.start)) subset.push(j);
      }
      const w = new Float64Array(subset.length);
      for (let r = 0; r < ctx.n; r++) {
        const p = ctx.startPos + r;
        for (let q = h * g; q < (h + 1) * g; q++) {
          const qo = (r * nHeads + q) * d;
          let max = -Infinity;
          subset.forEach((j, i) => {
            const pj = pos[j]!;
            if (pj > p || (slidingWindow !== undefined && pj <= p - slidingWindow)) return void (w[i] = -Infinity);
            let dot = 0;
            for (let e = 0; e < d; e++) dot += ctx.queries[qo + e]! * keys[j * d + e]!;
            w[i] = dot * scale;
            if (w[i]! > max) max = w[i]!;
          });
          let sum = 0;
          for (let i = 0; i < w.length; i++) sum += w[i] = w[i] === -Infinity ? 0 : Math.exp(w[i]! - max);
          subset.forEach((j, i) => {
            if (j < T && pos[j]! >= c.start && w[i]! / sum > out[h]![j]!) out[h]![j] = w[i]! / sum;
          });
        }
      }
    });
  }
}

export function kvzipOptions(p: Record<string, unknown>): KVzipOptions {
  return {
    chunk: positiveInt(p.chunk, 'chunk'),
    nSink: nonNegativeInt(p.nSink, 'nSink'),
    headBudgets: p.headBudgets === true,
    prompt: String(p.prompt),
    continuePrompt: String(p.continuePrompt),
    overlap: nonNegativeInt(p.overlap, 'overlap'),
  };
}

export const kvzipEntry: PressEntry = {
  name: 'kvzip',
  description: 'KVzip: keeps the entries the model attends to most when asked to repeat the context (query-agnostic; an extra forward over the context)',
  params: [
    { name: 'chunk', default: kvzipDefaults.chunk, description: 'context tokens reconstructed per forward (bounds the scoring memory)' },
    { name: 'nSink', default: kvzipDefaults.nSink, description: 'initial entries always kept' },
    { name: 'headBudgets', default: kvzipDefaults.headBudgets, description: "spread each layer's budget across its heads by score (false: n_keep per head)" },
    { name: 'prompt', default: kvzipDefaults.prompt, description: 'repeat request before the first chunk' },
    { name: 'continuePrompt', default: kvzipDefaults.continuePrompt, description: "repeat request before later chunks (then the previous chunk's last tokens)" },
    { name: 'overlap', default: kvzipDefaults.overlap, description: 'tokens of the previous chunk quoted before a later chunk' },
  ],
  create: (p, _find, ctx) => new KVzipPress(ctx, kvzipOptions(p)),
};
