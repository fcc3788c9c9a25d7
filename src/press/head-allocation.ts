import { selectKeep } from './select-keep.js';
import type { Keep } from './press.js';

/** Turns one layer's per-head scores, protected masks and per-head keep counts into kept indices. */
export type HeadAllocation = (scores: Float32Array[], protect: (Uint8Array | null)[], nKeep: number[]) => Keep;

/** Each head keeps its own top n_keep (the default for every scoring press). */
export const perHeadAllocation: HeadAllocation = (scores, protect, nKeep) => scores.map((s, h) => selectKeep(s, nKeep[h]!, protect[h]));
