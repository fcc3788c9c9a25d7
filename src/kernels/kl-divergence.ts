/** log-softmax in float64. */
function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
}

/** KL(P ‖ Q) in nats between the softmax distributions of two logit vectors. */
export function klDivergence(p: Float32Array, q: Float32Array): number {
  const lp = logSoftmax(p);
  const lq = logSoftmax(q);
  let kl = 0;
  for (let i = 0; i < lp.length; i++) {
    const pi = Math.exp(lp[i]!);
    if (pi > 0) kl += pi * (lp[i]! - lq[i]!);
  }
  return Math.max(0, kl);
}
