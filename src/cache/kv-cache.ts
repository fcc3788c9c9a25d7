import type { CacheStorage } from './cache-storage.js';
import { HeadCache } from './head-cache.js';
import { QuantizedHeadCache, type KvQuantOptions } from './quantized-head-cache.js';

export interface KVCacheShape {
  nLayers: number;
  nKvHeads: number;
  headDim: number;
}

/** The KV cache of one sequence: layers × KV heads of ragged `HeadCache`s. */
export class KVCache {
  /** heads[layer][kvHead] */
  readonly heads: HeadCache[][];
  /** Tokens processed so far: the absolute position the next token gets. */
  seen = 0;
  /** Token ids by absolute position, recorded by the session (token-class presses read them). */
  tokens: number[] = [];

  constructor(
    readonly shape: KVCacheShape,
    /** `quant`: KIVI-style quantised storage (methods.md §13) instead of float32. */
    opts: { trackAttentionSums?: boolean; heads?: HeadCache[][]; storage?: CacheStorage; quant?: KvQuantOptions } = {},
  ) {
    const track = opts.trackAttentionSums ?? false;
    const newHead = () =>
      opts.quant ? new QuantizedHeadCache(shape.headDim, opts.quant, track) : new HeadCache(shape.headDim, 16, track, opts.storage);
    this.heads = opts.heads ?? Array.from({ length: shape.nLayers }, () => Array.from({ length: shape.nKvHeads }, newHead));
  }

  /** Whether entries are stored KIVI-quantised (attention then reads quantised keys of entries appended earlier). */
  get quantized(): boolean {
    return this.heads[0]?.[0] instanceof QuantizedHeadCache;
  }

  /** Makes every head keep running attention sums from now on (H2O). */
  trackAttentionSums(): void {
    for (const hs of this.heads) for (const h of hs) h.trackAttentionSums();
  }

  dropAttentionSums(): void {
    for (const hs of this.heads) for (const h of hs) h.dropAttentionSums();
  }

  layer(l: number): HeadCache[] {
    return this.heads[l]!;
  }

  /** Bytes held now, in total or for one layer. */
  bytes(layer?: number): number {
    const layers = layer === undefined ? this.heads : [this.heads[layer]!];
    let b = 0;
    for (const hs of layers) for (const h of hs) b += h.bytes();
    return b;
  }

  /** Share of the entries the full cache would hold after `seen` tokens that this cache holds now. */
  keptShare(): number {
    const { nLayers, nKvHeads } = this.shape;
    return this.entries() / (nLayers * nKvHeads * this.seen);
  }

  /** What the uncompressed float32 cache would hold after `seen` tokens. */
  fullBytes(): number {
    const { nLayers, nKvHeads, headDim } = this.shape;
    return this.seen * nLayers * nKvHeads * HeadCache.bytesPerEntry(headDim);
  }

  /** Entries held now (all layers and heads). */
  entries(): number {
    let n = 0;
    for (const hs of this.heads) for (const h of hs) n += h.length;
    return n;
  }

  /** Becomes a copy of `src` (same shape), keeping this object and its token array identity. */
  restore(src: KVCache): void {
    src.heads.forEach((hs, l) =>
      hs.forEach((h, i) => {
        this.heads[l]![i]!.free();
        this.heads[l]![i] = h.clone();
      }),
    );
    this.seen = src.seen;
    this.tokens.length = 0;
    this.tokens.push(...src.tokens);
  }

  /** Gives every head's buffers back to their storage now; the cache is left empty (call when a sequence is done). */
  free(): void {
    for (const hs of this.heads) for (const h of hs) h.free();
    this.seen = 0;
    this.tokens.length = 0;
  }

  clone(): KVCache {
    const c = new KVCache(this.shape, { heads: this.heads.map((hs) => hs.map((h) => h.clone())) });
    c.seen = this.seen;
    c.tokens = [...this.tokens];
    return c;
  }
}
