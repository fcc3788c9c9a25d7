import type { Model } from '../model/model.js';

export interface PerplexityOptions {
  /** Tokens per forward window (default: the model's context, at most 512). */
  window?: number;
  /** Tokens each window advances; only the tokens new to a window are scored (default: window / 2). */
  stride?: number;
  /** Called after each window with the tokens scored so far. */
  onWindow?(scored: number, total: number): void;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  nll: number;
  /** Tokens scored (every token after the first). */
  tokens: number;
}

/**
 * Sliding-window perplexity of a token sequence: each window runs on a fresh cache, and scores only
 * the targets the previous window did not, so every token after the first is predicted once with up
 * to window − stride tokens of context before it (the usual Hugging Face evaluation).
 */
export function perplexity(model: Model, ids: readonly number[], opts: PerplexityOptions = {}): PerplexityResult {
  const window = opts.window ?? Math.min(model.config.maxSeqLen, 512);
  const stride = opts.stride ?? Math.max(1, Math.floor(window / 2));
  if (!Number.isInteger(window) || window < 2 || window > model.config.maxSeqLen)
    throw new RangeError(`window must be an integer in 2…${model.config.maxSeqLen} (the model's context), got ${window}`);
  if (!Number.isInteger(stride) || stride < 1 || stride >= window) throw new RangeError(`stride must be an integer in 1…${window - 1} (below the window), got ${stride}`);
  if (ids.length < 2) throw new RangeError(`perplexity needs at least 2 tokens, got ${ids.length}`);
  const V = model.config.vocabSize;
  let nllSum = 0;
  let scored = 0;
  let prevEnd = 1; // targets before this position are already scored (token 0 is never a target)
  for (let begin = 0; prevEnd < ids.length; begin += stride) {
    const end = Math.min(begin + window, ids.length);
    const logits = model.forward(ids.slice(begin, end), model.newCache(), { allLogits: true });
    for (let t = Math.max(prevEnd, begin + 1); t < end; t++) {
      const row = logits.subarray((t - 1 - begin) * V, (t - begin) * V);
      nllSum += negLogProb(row, ids[t]!);
      scored++;
    }
    prevEnd = end;
    opts.onWindow?.(scored, ids.length - 1);
  }
  const nll = nllSum / scored;
  return { perplexity: Math.exp(nll), nll, tokens: scored };
}

/** −log softmax(logits)[target] in float64. */
function negLogProb(logits: Float32Array, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return Math.log(sum) + max - logits[target]!;
}
