import type { KVCache } from '../cache/kv-cache.js';
import type { ForwardHooks } from '../model/hooks.js';

/**
 * One prefill kept for reuse. Presses act after each layer's attention and prefill attention always
 * sees the whole prompt, so the hidden states — and therefore each layer's queries and full KV — do
 * not depend on the press: any press's compressed cache can be derived from this record without
 * running the model again.
 */
export interface PrefillRecord {
  ids: readonly number[];
  /** Position of the first prompt token. */
  startPos: number;
  /** Post-RoPE queries of every prompt token, per layer (n × nHeads × headDim). */
  queries: Float32Array[];
  /** The uncompressed cache after the prefill, with running attention sums. */
  cache: KVCache;
  logits: Float32Array;
  prefillMs: number;
}

/** Hooks that copy each layer's queries into `queries[layer]`. */
export function recordQueries(queries: Float32Array[]): ForwardHooks {
  return {
    afterAttention(ctx) {
      queries[ctx.layer] = ctx.queries.slice();
    },
  };
}
