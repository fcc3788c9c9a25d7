import type { LayerView } from './layer-view.js';

/** Per KV head of one layer: sorted, unique indices (into that head's entries) to keep. */
export type Keep = Int32Array[];

/** How much a press keeps: a fraction removed (kvpress convention, 0 = nothing) or a token count per head. */
export type Budget = { ratio: number } | { tokens: number };

/** A KV cache compression method acting on one layer at a time (prefill hook or decoding hook). */
export interface Press {
  readonly name: string;
  /** The cache must keep running attention column sums (H2O). */
  readonly needsAttention?: boolean;
  /** Indices to keep per KV head for this layer, or null to leave the layer untouched. */
  compress(view: LayerView, budget: Budget): Keep | null;
  /**
   * The method's own decoding phase (ShotKV, FastGen), which the session runs unless another
   * decoding press is named; it keeps entries by its own rule (not the session's decoding budget).
   * `promptEnd` is the absolute position after the prompt; undefined when there is nothing to do.
   */
  decodingPhase?(ctx: { promptEnd: number; decodeRatio: number }): Press | undefined;
}
