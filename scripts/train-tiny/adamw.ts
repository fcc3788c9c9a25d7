import * as tf from '@tensorflow/tfjs';
import type { Params } from './tf-model.js';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Gradients are scaled down to this global L2 norm when larger. */
  clipNorm: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 };

/** Linear warm-up, then cosine decay to 10% of the peak, over the steps from `from` (a warm restart) to `totalSteps`. */
export function learningRate(step: number, totalSteps: number, peak: number, warmup: number, from = 0): number {
  const s = step - from;
  if (s < warmup) return (peak * (s + 1)) / warmup;
  const t = Math.min(1, (s - warmup) / Math.max(1, totalSteps - from - warmup));
  return peak * (0.1 + 0.45 * (1 + Math.cos(Math.PI * t)));
}

/** AdamW moments for every parameter; decoupled weight decay skips 1-D parameters (norm gains). */
export class AdamW {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(
    params: Params,
    readonly opts: AdamWOptions = ADAMW_DEFAULTS,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Applies one update (`grads` keyed by tfjs variable name, as tf.variableGrads returns them); returns the gradients' global norm before clipping. */
  apply(params: Params, grads: Record<string, tf.Tensor>, lr: number): number {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.opts;
    this.step++;
    const norm = tf.tidy(() => Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
    const scale = norm > clipNorm ? clipNorm / norm : 1;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = tf.mul(grads[p.name]!, scale);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        const decayed = p.shape.length > 1 ? tf.mul(p, 1 - lr * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
    return norm;
  }
}
