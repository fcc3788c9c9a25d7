import { Rng } from '../../generate/rng.js';

/** A mean with its 95 % interval. */
export interface Estimate {
  n: number;
  mean: number;
  lo: number;
  hi: number;
  /** How the interval was computed. */
  method: 'wilson' | 'bootstrap';
}

const Z95 = 1.959963984540054;
/** Bootstrap resamples: the percentile interval's endpoints move by well under a point at n ≥ 30. */
export const BOOTSTRAP_RESAMPLES = 2000;

/** Wilson score interval for k successes in n trials (95 %). */
export function wilson(k: number, n: number): { lo: number; hi: number } {
  if (n === 0) return { lo: 0, hi: 1 };
  const p = k / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // At k = 0 and k = n the bound is exactly 0 or 1; rounding would otherwise leave p outside its interval.
  return { lo: k === 0 ? 0 : Math.max(0, centre - half), hi: k === n ? 1 : Math.min(1, centre + half) };
}

/** A 32-bit seed from a string (FNV-1a), so each cell's bootstrap is seeded by what it is, not by when it is computed. */
export function seedOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The q-quantile of sorted values, linear between order statistics. */
function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const i = Math.floor(at);
  return i + 1 < sorted.length ? sorted[i]! + (at - i) * (sorted[i + 1]! - sorted[i]!) : sorted[i]!;
}

/** Percentile bootstrap 95 % interval of the mean of `xs`, resampled with a seeded generator. */
export function bootstrapMean(xs: readonly number[], seed: number, resamples = BOOTSTRAP_RESAMPLES): { lo: number; hi: number } {
  const n = xs.length;
  if (n === 0) return { lo: NaN, hi: NaN };
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[Math.floor(rng.next() * n)]!;
    means[b] = s / n;
  }
  means.sort();
  return { lo: quantile(means, 0.025), hi: quantile(means, 0.975) };
}

const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Mean score with its interval: Wilson when every score is 0 or 1, else a seeded bootstrap (partial credit). */
export function estimateScores(scores: readonly number[], seed: number): Estimate {
  const n = scores.length;
  const mean = n ? meanOf(scores) : NaN;
  if (scores.every((s) => s === 0 || s === 1)) return { n, mean, ...wilson(Math.round(mean * n), n), method: 'wilson' };
  return { n, mean, ...bootstrapMean(scores, seed), method: 'bootstrap' };
}

/** Mean paired difference (compressed − full, on the same examples) with its seeded bootstrap interval. */
export function pairedDelta(pairs: readonly { score: number; full: number }[], seed: number): Estimate {
  const d = pairs.map((p) => p.score - p.full);
  return { n: d.length, mean: d.length ? meanOf(d) : NaN, ...bootstrapMean(d, seed), method: 'bootstrap' };
}
