import { Rng } from './rng.js';

export interface SamplingOptions {
  /** 0 (default) = greedy argmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  seed?: number;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Picks the next token from logits: greedy, or temperature / top-k / top-p sampling with a seeded RNG. */
export class Sampler {
  private readonly rng: Rng;
  constructor(private readonly opts: SamplingOptions = {}) {
    const t = opts.temperature ?? 0;
    if (!(t >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${t}`);
    const p = opts.topP ?? 1;
    if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
    const k = opts.topK ?? 0;
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`top-k must be a non-negative integer, got ${k}`);
    this.rng = new Rng(opts.seed ?? 0);
  }

  sample(logits: Float32Array): number {
    const t = this.opts.temperature ?? 0;
    if (t === 0) return argmax(logits);
    const ids = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
    const k = this.opts.topK ? Math.min(this.opts.topK, ids.length) : ids.length;
    const max = logits[ids[0]!]!;
    const probs: number[] = [];
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const e = Math.exp((logits[ids[i]!]! - max) / t);
      probs.push(e);
      sum += e;
    }
    const topP = this.opts.topP ?? 1;
    let keep = probs.length;
    if (topP < 1) {
      let cum = 0;
      for (let i = 0; i < probs.length; i++) {
        cum += probs[i]! / sum;
        if (cum >= topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let total = 0;
    for (let i = 0; i < keep; i++) total += probs[i]!;
    let r = this.rng.next() * total;
    for (let i = 0; i < keep; i++) {
      r -= probs[i]!;
      if (r < 0) return ids[i]!;
    }
    return ids[keep - 1]!;
  }
}
