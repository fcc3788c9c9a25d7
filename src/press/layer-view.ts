import type { HeadCache } from '../cache/head-cache.js';
import type { ModelConfig } from '../formats/model-config.js';
import type { AttentionContext } from '../model/hooks.js';
import type { SegmentRange } from './segment-range.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { lastRowsAttention } from './last-rows-attention.js';

/** What a press sees of one layer right after its attention (design.md "where presses hook in"). */
export interface LayerView {
  readonly layer: number;
  readonly nLayers: number;
  readonly kvHeads: number;
  readonly groupSize: number;
  readonly headDim: number;
  readonly config: ModelConfig;
  /** Entries head h holds now (the tokens just processed included). */
  length(h: number): number;
  /** Absolute positions of head h's entries. */
  positions(h: number): Int32Array;
  /** length(h) × headDim, post-RoPE. */
  keys(h: number): Float32Array;
  values(h: number): Float32Array;
  /** Post-RoPE queries of the n tokens just processed (all query heads), the first at startPos. */
  readonly processed: { queries: Float32Array; n: number; startPos: number };
  /** Softmax weights of the last `rows` (default 32, at most n) query rows on head h's entries, group-averaged: rows × length(h). */
  attention(h: number, opts?: { rows?: number }): Float32Array;
  /** Running column sums of attention per entry (H2O); present only when the cache tracks attention. */
  attentionSums?(h: number): Float32Array;
  /** Caller-supplied prompt structure, as absolute position ranges. */
  readonly segments?: readonly SegmentRange[];
  /** Token ids by absolute position (everything the session has processed). */
  readonly tokens: Int32Array;
  /** Token classes (special, surface text) for presses that need them (FastGen); absent outside a session. */
  readonly tokenizer?: Pick<Tokenizer, 'isSpecial' | 'piece'>;
}

/** The LayerView over a live cache layer during a forward pass; attention rows are computed once on demand. */
export class CacheLayerView implements LayerView {
  readonly layer: number;
  readonly nLayers: number;
  readonly kvHeads: number;
  readonly groupSize: number;
  readonly headDim: number;
  readonly processed: { queries: Float32Array; n: number; startPos: number };
  readonly attentionSums?: (h: number) => Float32Array;
  private readonly heads: HeadCache[];
  private readonly memo = new Map<string, Float32Array>();
  private tokenIds: Int32Array | undefined;

  constructor(
    ctx: AttentionContext,
    readonly config: ModelConfig,
    private readonly tokenList: readonly number[],
    readonly segments?: readonly SegmentRange[],
    readonly tokenizer?: Pick<Tokenizer, 'isSpecial' | 'piece'>,
  ) {
    this.layer = ctx.layer;
    this.nLayers = config.nLayers;
    this.kvHeads = config.nKvHeads;
    this.groupSize = config.nHeads / config.nKvHeads;
    this.headDim = config.headDim;
    this.heads = ctx.heads;
    this.processed = { queries: ctx.queries, n: ctx.n, startPos: ctx.startPos };
    if (ctx.heads.every((h) => h.attentionSums !== null)) this.attentionSums = (h) => this.head(h).attentionSums!.subarray(0, this.length(h));
  }

  get tokens(): Int32Array {
    return (this.tokenIds ??= Int32Array.from(this.tokenList));
  }

  length(h: number): number {
    return this.head(h).length;
  }

  positions(h: number): Int32Array {
    return this.head(h).positions.subarray(0, this.length(h));
  }

  keys(h: number): Float32Array {
    return this.head(h).keys.subarray(0, this.length(h) * this.headDim);
  }

  values(h: number): Float32Array {
    return this.head(h).values.subarray(0, this.length(h) * this.headDim);
  }

  attention(h: number, opts: { rows?: number } = {}): Float32Array {
    const rows = Math.max(1, Math.min(opts.rows ?? 32, this.processed.n));
    const key = `${h}:${rows}`;
    let a = this.memo.get(key);
    if (!a) {
      const { queries, n, startPos } = this.processed;
      a = lastRowsAttention(queries, n, startPos, this.config.nHeads, h, this.groupSize, this.head(h), rows, this.config.slidingWindow);
      this.memo.set(key, a);
    }
    return a;
  }

  private head(h: number): HeadCache {
    const head = this.heads[h];
    if (!head) throw new RangeError(`KV head ${h} outside 0…${this.heads.length - 1}`);
    return head;
  }
}
