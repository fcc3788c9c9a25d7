import { keepCount } from './budget.js';
import type { LayerSchedule } from './layer-schedule.js';

/**
 * PyramidKV's budget schedule (methods.md §4, kvpress convention: the window counts inside each
 * layer's budget): linear from the bottom layer's b_max down to b_min = (C − W)/β, integer budgets
 * summing exactly to L·C by largest-remainder rounding, each clamped to [max(1, min(W, C)), T].
 */
export function pyramidSchedule(opts: { window: number; beta: number }): LayerSchedule {
  const cache = new Map<string, number[]>();
  return (layer, nLayers, T, budget) => {
    const C = keepCount(T, budget);
    const key = `${nLayers}:${T}:${C}`;
    let budgets = cache.get(key);
    if (!budgets) {
      budgets = pyramidBudgets(nLayers, T, C, opts.window, opts.beta);
      cache.set(key, budgets);
    }
    return budgets[layer]!;
  };
}

/** Per-layer keep counts for L layers of T entries averaging C (window W included). */
export function pyramidBudgets(L: number, T: number, C: number, W: number, beta: number): number[] {
  const w = Math.min(W, T);
  const s = C - w;
  if (L === 1 || s <= 0) return new Array<number>(L).fill(C);
  let bMin = s / beta;
  let bMax = 2 * s - bMin;
  if (w + bMax > T) {
    bMax = T - w;
    bMin = 2 * s - bMax;
  }
  const raw = Array.from({ length: L }, (_, l) => w + bMax - (l * (bMax - bMin)) / (L - 1));
  return apportion(raw, L * C, Math.max(1, Math.min(w, C)), T);
}

/** Integers near `raw`, each in [lo, hi], summing exactly to `total` (largest remainder; lo·n ≤ total ≤ hi·n). */
function apportion(raw: number[], total: number, lo: number, hi: number): number[] {
  const x = raw.map((r) => Math.min(hi, Math.max(lo, r)));
  const out = x.map(Math.floor);
  const frac = x.map((v, i) => v - out[i]!);
  let diff = total - out.reduce((a, b) => a + b, 0);
  // Give to the largest remainders first (take from the smallest), cycling when clamping moved mass.
  const order = frac.map((_, i) => i).sort((a, b) => frac[b]! - frac[a]! || a - b);
  while (diff > 0) {
    let moved = false;
    for (const i of order)
      if (diff > 0 && out[i]! < hi) {
        out[i]!++;
        diff--;
        moved = true;
      }
    if (!moved) break;
  }
  while (diff < 0) {
    let moved = false;
    for (const i of [...order].reverse())
      if (diff < 0 && out[i]! > lo) {
        out[i]!--;
        diff++;
        moved = true;
      }
    if (!moved) break;
  }
  return out;
}
