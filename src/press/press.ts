import type { LayerView } from './layer-view.js';

/** Per KV head of one layer: sorted, unique indices (into that head's entries) to keep. */
export type Keep = Int32Array[];

/** How much a press keeps: a fraction removed (kvpress convention, 0 = nothing) or a token count per head. */
export type Budget = { ratio: number } | { tokens: number };

/** A KV cache compression method acting on one layer at a time (prefill hook or decoding hook). */
export interface Press {
  readonly name: string;
  /** The cache must keep running attention column sums (H2O). */
  readonly needsAttentionSums?: boolean;
  /** The press selects whole shots, so a plain prompt must be split into shot segments first (ShotKV). */
  readonly usesShots?: boolean;
  /** Indices to keep per KV head for this layer, or null to leave the layer untouched. */
  compress(view: LayerView, budget: Budget): Keep | null;
  /** Starts the state a press keeps for one prompt (FastGen's profiles, ChunkKV's reused ranking). */
  beginPrefill?(): void;
  /** The method's own decoding phase (ShotKV, FastGen), run instead of a decoding budget unless another decoding press is named. */
  readonly decoding?: DecodingPhase;
}

/** A press's own rule for the tokens it generates after the prompt. */
export interface DecodingPhase {
  /** The cache must keep attention sums from the prefill on for this phase. */
  readonly needsAttentionSums?: boolean;
  /** The press for a generation after a prompt ending at absolute position `promptEnd`; undefined when there is nothing to do. */
  start(ctx: { promptEnd: number; decodeRatio: number }): Press | undefined;
}
