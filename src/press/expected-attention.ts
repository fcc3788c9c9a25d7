import { maskedSoftmax } from '../kernels/masked-softmax.js';
import { rope, ropeInvFreq } from '../kernels/rope.js';
import type { LayerView } from './layer-view.js';
import { nonNegativeInt, positiveInt } from './param-checks.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';

export interface ExpectedAttentionOptions {
  nFuture: number;
  nSink: number;
  useCovariance: boolean;
  useVnorm: boolean;
  epsilon: number;
}

/** Per query head, the Gaussian statistics of future queries: mean μ' (Hq × d) and covariance Σ' (Hq × d × d, or null). */
interface FutureQueries {
  mean: Float64Array;
  cov: Float64Array | null;
}

/**
 * ExpectedAttention (methods.md §8): the attention a key should get from future queries, modelled
 * as a Gaussian fitted to the layer's pre-RoPE prompt queries and rotated by the RoPE averaged over
 * the next nFuture positions; softmax over non-sink keys, group mean, times ‖v‖; sinks kept.
 */
export function expectedAttentionScorer(o: ExpectedAttentionOptions): Scorer {
  const stats = new WeakMap<LayerView, FutureQueries>();
  return {
    score(view, h) {
      let fq = stats.get(view);
      if (!fq) stats.set(view, (fq = futureQueries(view, o)));
      const d = view.headDim;
      const T = view.length(h);
      const pos = view.positions(h);
      const keys = view.keys(h);
      const values = view.values(h);
      const out = new Float32Array(T);
      const z = new Float64Array(T);
      for (let g = 0; g < view.groupSize; g++) {
        const q = h * view.groupSize + g;
        for (let j = 0; j < T; j++) {
          if (pos[j]! < o.nSink) {
            z[j] = -Infinity; // sinks are kept, not scored
            continue;
          }
          let lin = 0;
          for (let a = 0; a < d; a++) lin += fq.mean[q * d + a]! * keys[j * d + a]!;
          let quad = 0;
          if (fq.cov)
            for (let a = 0; a < d; a++) {
              let row = 0;
              for (let b = 0; b < d; b++) row += fq.cov[(q * d + a) * d + b]! * keys[j * d + b]!;
              quad += keys[j * d + a]! * row;
            }
          z[j] = lin / Math.sqrt(d) + quad / (2 * d);
        }
        maskedSoftmax(z, T);
        for (let j = 0; j < T; j++) out[j] += z[j]! / view.groupSize;
      }
      if (o.useVnorm)
        for (let j = 0; j < T; j++) {
          let n2 = 0;
          for (let a = 0; a < d; a++) n2 += values[j * d + a]! ** 2;
          out[j] = (out[j]! + o.epsilon) * Math.sqrt(n2);
        }
      return out;
    },
    protect(view, h) {
      const pos = view.positions(h);
      return Uint8Array.from(pos, (p) => (p < o.nSink ? 1 : 0));
    },
  };
}

/** Fits μ, Σ (divided by N) to the pre-RoPE queries past the sinks, then applies the averaged rotation R̄. */
function futureQueries(view: LayerView, o: ExpectedAttentionOptions): FutureQueries {
  const { config, headDim: d } = view;
  const Hq = config.nHeads;
  const { queries, n, startPos } = view.processed;
  const invFreq = ropeInvFreq(d, config.ropeTheta, config.ropeScaling);
  let rows = Array.from({ length: n }, (_, t) => t).filter((t) => startPos + t >= o.nSink);
  if (rows.length === 0) rows = Array.from({ length: n }, (_, t) => t);
  const mean = new Float64Array(Hq * d);
  const second = o.useCovariance ? new Float64Array(Hq * d * d) : null;
  const x = new Float32Array(Hq * d);
  for (const t of rows) {
    x.set(queries.subarray(t * Hq * d, (t + 1) * Hq * d));
    rope(x, 0, Hq, d, -(startPos + t), invFreq, config.ropeLayout); // undo the query's own rotation
    for (let i = 0; i < Hq * d; i++) mean[i] += x[i]! / rows.length;
    if (second)
      for (let q = 0; q < Hq; q++)
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) second[(q * d + a) * d + b] += (x[q * d + a]! * x[q * d + b]!) / rows.length;
  }
  // R̄ is block-diagonal over RoPE pairs: [[C̄, −S̄], [S̄, C̄]] with C̄, S̄ the mean cos, sin of p·θ_i.
  const half = d / 2;
  const C = new Float64Array(half);
  const S = new Float64Array(half);
  const next = startPos + n;
  for (let i = 0; i < half; i++) {
    for (let p = next; p < next + o.nFuture; p++) {
      C[i] += Math.cos(p * invFreq[i]!) / o.nFuture;
      S[i] += Math.sin(p * invFreq[i]!) / o.nFuture;
    }
  }
  const pair = (i: number): [number, number] => (config.ropeLayout === 'half' ? [i, i + half] : [2 * i, 2 * i + 1]);
  const rotate = (v: Float64Array, off: number, stride: number) => {
    for (let i = 0; i < half; i++) {
      const [a, b] = pair(i);
      const va = v[off + a * stride]!;
      const vb = v[off + b * stride]!;
      v[off + a * stride] = C[i]! * va - S[i]! * vb;
      v[off + b * stride] = S[i]! * va + C[i]! * vb;
    }
  };
  const cov = second;
  if (cov)
    for (let q = 0; q < Hq; q++) {
      const o0 = q * d * d;
      // Σ = E[xxᵀ] − μμᵀ (divided by N), then Σ' = R̄ Σ R̄ᵀ: rotate every column, then every row.
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[o0 + a * d + b] -= mean[q * d + a]! * mean[q * d + b]!;
      for (let b = 0; b < d; b++) rotate(cov, o0 + b, d);
      for (let a = 0; a < d; a++) rotate(cov, o0 + a * d, 1);
    }
  for (let q = 0; q < Hq; q++) rotate(mean, q * d, 1);
  return { mean, cov };
}

export const expectedAttentionEntry: PressEntry = {
  name: 'expected-attention',
  description: 'ExpectedAttention: scores keys by the attention expected from future queries (Gaussian fit of the prompt queries)',
  params: [
    { name: 'nFuture', default: 512, description: 'future positions the RoPE rotation is averaged over' },
    { name: 'nSink', default: 4, description: 'initial entries always kept and left out of the statistics' },
    { name: 'useCovariance', default: true, description: 'include the query covariance term' },
    { name: 'useVnorm', default: true, description: 'multiply scores by the value norm' },
    { name: 'epsilon', default: 0, description: 'added to the expected attention before the value-norm product' },
  ],
  scorer: (p) => expectedAttentionScorer(expectedAttentionOptions(p)),
  create: (p) => scorerPress('expected-attention', expectedAttentionScorer(expectedAttentionOptions(p))),
};

function expectedAttentionOptions(p: Record<string, unknown>): ExpectedAttentionOptions {
  if (!(typeof p.epsilon === 'number' && p.epsilon >= 0)) throw new RangeError(`epsilon must be ≥ 0, not ${String(p.epsilon)}`);
  return {
    nFuture: positiveInt(p.nFuture, 'nFuture'),
    nSink: nonNegativeInt(p.nSink, 'nSink'),
    useCovariance: p.useCovariance === true,
    useVnorm: p.useVnorm === true,
    epsilon: p.epsilon,
  };
}
