import { Rng } from '../generate/rng.js';
import { Sampler } from '../generate/sampler.js';
import type { ModelConfig } from '../formats/model-config.js';
import type { Model } from '../model/model.js';

/**
 * `samples` random windows of seqLen tokens from a tokenised text (as the reference draws C4
 * segments), with a fixed seed. When `bosId` is given each window is BOS + seqLen − 1 text tokens,
 * so calibration activations look like those of a prompt.
 */
export function calibrationFromTokens(ids: readonly number[], samples: number, seqLen: number, opts: { seed?: number; bosId?: number } = {}): number[][] {
  checkCounts(samples, seqLen);
  const body = opts.bosId === undefined ? seqLen : seqLen - 1;
  const text = opts.bosId !== undefined && ids[0] === opts.bosId ? ids.slice(1) : ids;
  if (text.length < body) throw new RangeError(`calibration text has ${text.length} tokens, a sample needs ${body}`);
  const rng = new Rng(opts.seed ?? 0);
  return Array.from({ length: samples }, () => {
    const start = Math.floor(rng.next() * (text.length - body + 1));
    const window = text.slice(start, start + body);
    return opts.bosId === undefined ? [...window] : [opts.bosId, ...window];
  });
}

/** `samples` sequences of seqLen tokens sampled from the model itself (temperature 1, fixed seed), each starting at BOS. */
export function calibrationFromModel(model: Model, samples: number, seqLen: number, opts: { seed?: number; bosId: number }): number[][] {
  checkCounts(samples, seqLen);
  if (seqLen > model.config.maxSeqLen) throw new RangeError(`calibration length ${seqLen} exceeds the model's context of ${model.config.maxSeqLen}`);
  const seed = opts.seed ?? 0;
  return Array.from({ length: samples }, (_, s) => {
    const sampler = new Sampler({ temperature: 1, seed: seed + s });
    const cache = model.newCache();
    const seq = [opts.bosId];
    let logits = model.forward(seq, cache);
    while (seq.length < seqLen) {
      const id = sampler.sample(logits);
      seq.push(id);
      if (seq.length < seqLen) logits = model.forward([id], cache);
    }
    return seq;
  });
}

function checkCounts(samples: number, seqLen: number): void {
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`calibration samples must be a positive integer, got ${samples}`);
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new RangeError(`calibration length must be an integer ≥ 2, got ${seqLen}`);
}

/**
 * SparseGPT's Hessian X·Xᵀ over a linear layer's n inputs has rank at most the number of distinct
 * calibration tokens. Below the widest input (the FFN's hidden width, read by down_proj) it is
 * singular, held up only by the damping, and the updates it drives can lose to magnitude pruning
 * (on tinystories-656K SparseGPT lost to magnitude pruning from 207 calibration tokens and beat it
 * from 32 × 128). The warning, or undefined when there are enough tokens.
 */
export function rankDeficiencyWarning(tokens: number, config: Pick<ModelConfig, 'dim' | 'hiddenDim'>): string | undefined {
  const widest = Math.max(config.dim, config.hiddenDim);
  if (tokens >= widest) return undefined;
  return (
    `SparseGPT is calibrated on ${tokens} tokens, fewer than the ${widest} inputs of the widest layer: its Hessian is rank-deficient ` +
    `(only the damping keeps it invertible) and pruning may do worse than --method magnitude. Pass more calibration: ` +
    `--calib-samples × --seq-len tokens (from a --calib text at least that long) of at least ${widest}, ideally many times more`
  );
}
