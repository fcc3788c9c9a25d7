import type { CacheStorage } from './cache-storage.js';
import { HeadCache } from './head-cache.js';

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

  constructor(
    readonly shape: KVCacheShape,
    opts: { trackAttention?: boolean; heads?: HeadCache[][]; storage?: CacheStorage } = {},
  ) {
    this.heads =
      opts.heads ??
      Array.from({ length: shape.nLayers }, () =>
        Array.from({ length: shape.nKvHeads }, () => new HeadCache(shape.headDim, 16, opts.trackAttention ?? false, opts.storage)),
      );
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

  /** What the uncompressed cache would hold after `seen` tokens. */
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

  clone(): KVCache {
    const c = new KVCache(this.shape, { heads: this.heads.map((hs) => hs.map((h) => h.clone())) });
    c.seen = this.seen;
    return c;
  }
}
