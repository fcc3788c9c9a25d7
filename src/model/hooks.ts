import type { HeadCache } from '../cache/head-cache.js';

/** The linear groups whose inputs SparseGPT calibrates on: q/k/v share one input, gate/up another. */
export type LinearName = 'qkv' | 'o' | 'gateUp' | 'down';

/** What a press (or an inspector) sees right after a layer's attention over the tokens just processed. */
export interface AttentionContext {
  layer: number;
  /** Post-RoPE queries of the n tokens just processed: n × nHeads × headDim. */
  queries: Float32Array;
  n: number;
  /** Absolute position of the first of those tokens. */
  startPos: number;
  /** This layer's cache, the new entries included; evicting from it here affects later attention. */
  heads: HeadCache[];
}

/** Optional observers of one forward pass; every callback receives the layer index. */
export interface ForwardHooks {
  onLinearInput?(layer: number, name: LinearName, x: Float32Array, n: number): void;
  afterAttention?(ctx: AttentionContext): void;
}
