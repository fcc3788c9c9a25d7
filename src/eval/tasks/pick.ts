import { Rng } from '../../generate/rng.js';

/** The generator of example `index` of `seed`: each example depends only on (seed, index), not on n. */
export function exampleRng(task: string, seed: number, index: number): Rng {
  let h = 2166136261;
  for (const c of `${task}/${seed}/${index}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return new Rng(h >>> 0);
}

/** Uniform integer in [lo, hi]. */
export function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** A random k-digit decimal string without a leading zero. */
export function digits(rng: Rng, k: number): string {
  return Array.from({ length: k }, (_, i) => int(rng, i === 0 ? 1 : 0, 9)).join('');
}

export function choice<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng.next() * xs.length)]!;
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `k` distinct elements in random order. */
export function sample<T>(rng: Rng, xs: readonly T[], k: number): T[] {
  return shuffled(rng, xs).slice(0, k);
}
