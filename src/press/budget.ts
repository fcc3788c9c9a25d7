import type { LayerView } from './layer-view.js';
import type { Budget } from './press.js';

/** Validates a budget so bad input fails clearly instead of keeping a nonsense amount. */
export function checkBudget(budget: Budget): Budget {
  if ('ratio' in budget) {
    if (!(budget.ratio >= 0 && budget.ratio < 1)) throw new RangeError(`compression ratio ${budget.ratio} must be in [0, 1)`);
  } else if (!(Number.isSafeInteger(budget.tokens) && budget.tokens >= 1)) {
    throw new RangeError(`token budget ${budget.tokens} must be a positive integer`);
  }
  return budget;
}

/**
 * Entries one head of T keeps (methods.md §0.3): max(1, floor(T·(1 − ratio))), or the token count,
 * never above T. The floor forgives float rounding (20 · (1 − 0.9) is 1.9999999999999996 in doubles).
 */
export function keepCount(T: number, budget: Budget): number {
  const n = 'ratio' in budget ? Math.floor(T * (1 - budget.ratio) + 1e-9) : budget.tokens;
  return Math.min(T, Math.max(1, n));
}

/** Entries each KV head of the layer keeps under `budget`. */
export function headKeepCounts(view: Pick<LayerView, 'kvHeads' | 'length'>, budget: Budget): number[] {
  return Array.from({ length: view.kvHeads }, (_, h) => keepCount(view.length(h), budget));
}

/** Every KV head would keep all it holds: the press leaves the layer untouched (and copies nothing). */
export function keepsAll(view: Pick<LayerView, 'kvHeads' | 'length'>, nKeep: readonly number[]): boolean {
  for (let h = 0; h < view.kvHeads; h++) if (nKeep[h]! < view.length(h)) return false;
  return true;
}
