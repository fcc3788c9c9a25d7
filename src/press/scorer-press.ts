import { keepsAll } from './budget.js';
import type { HeadAllocation } from './head-allocation.js';
import { perHeadAllocation } from './head-allocation.js';
import type { LayerView } from './layer-view.js';
import { uniformSchedule, type LayerSchedule } from './layer-schedule.js';
import type { Budget, Keep, Press } from './press.js';

/** What a scoring method writes: one score per entry of head h (higher = keep) and what it never drops. */
export interface Scorer {
  score(view: LayerView, h: number): Float32Array;
  /** Entries kept whatever their score (sinks, observation window), given head h's keep count. */
  protect?(view: LayerView, h: number, nKeep: number): Uint8Array | null;
  /** The cache must keep running attention column sums. */
  readonly needsAttentionSums?: boolean;
}

/**
 * A press from a scorer plus the two composable budget pieces: a layer schedule (uniform,
 * PyramidKV) and a head allocation (per head, AdaKV).
 */
export function scorerPress(
  name: string,
  scorer: Scorer,
  opts: { schedule?: LayerSchedule; allocation?: HeadAllocation } = {},
): Press {
  const schedule = opts.schedule ?? uniformSchedule;
  const allocation = opts.allocation ?? perHeadAllocation;
  return {
    name,
    needsAttentionSums: scorer.needsAttentionSums,
    compress(view: LayerView, budget: Budget): Keep | null {
      const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
      const nKeep = heads.map((h) => schedule(view.layer, view.nLayers, view.length(h), budget));
      if (keepsAll(view, nKeep)) return null;
      const scores = heads.map((h) => scorer.score(view, h));
      const protect = heads.map((h) => scorer.protect?.(view, h, nKeep[h]!) ?? null);
      return allocation(scores, protect, nKeep);
    },
  };
}
