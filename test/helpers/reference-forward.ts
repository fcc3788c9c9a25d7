import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import type { LogicalModel } from './random-model.js';

/**
 * Naive float64 Llama forward over a whole sequence with full causal attention (no cache), written
 * independently of the engine: returns logits for every position.
 */
export function referenceLogits(
  m: LogicalModel,
  tokens: number[],
  /** Observes every softmax row: query head `head` at position `row` over key positions `keys`. */
  onAttention?: (layer: number, head: number, row: number, keys: number[], weights: number[]) => void,
): Float64Array[] {
  const c = m.config;
  const W = (name: string) => Float64Array.from(m.tensors.get(name)!.data);
  const d = c.headDim;
  const g = c.nHeads / c.nKvHeads;
  const linear = (x: Float64Array, w: Float64Array, rows: number, bias?: Float64Array) => {
    const cols = x.length;
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = bias ? bias[r]! : 0;
      for (let k = 0; k < cols; k++) s += w[r * cols + k]! * x[k]!;
      y[r] = s;
    }
    return y;
  };
  const norm = (x: Float64Array, w: Float64Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const inv = 1 / Math.sqrt(ss / x.length + c.normEps);
    return x.map((v, i) => v * inv * w[i]!);
  };
  const freqs = Array.from({ length: d / 2 }, (_, i) => {
    let f = 1 / Math.pow(c.ropeTheta, (2 * i) / d);
    const sc = c.ropeScaling;
    if (sc) {
      const wl = (2 * Math.PI) / f;
      const lowWl = sc.originalMaxPositions / sc.lowFreqFactor;
      const highWl = sc.originalMaxPositions / sc.highFreqFactor;
      if (wl > lowWl) f = f / sc.factor;
      else if (wl >= highWl) {
        const sm = (sc.originalMaxPositions / wl - sc.lowFreqFactor) / (sc.highFreqFactor - sc.lowFreqFactor);
        f = (1 - sm) * (f / sc.factor) + sm * f;
      }
    }
    return f;
  });
  const rot = (v: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < d / 2; i++) {
        const [a, b] = c.ropeLayout === 'half' ? [h * d + i, h * d + i + d / 2] : [h * d + 2 * i, h * d + 2 * i + 1];
        const ang = pos * freqs[i]!;
        const x0 = v[a]!;
        const x1 = v[b]!;
        v[a] = x0 * Math.cos(ang) - x1 * Math.sin(ang);
        v[b] = x0 * Math.sin(ang) + x1 * Math.cos(ang);
      }
  };
  const embed = W(TENSOR_NAMES.embed);
  let xs = tokens.map((t) => embed.slice(t * c.dim, (t + 1) * c.dim));
  for (let l = 0; l < c.nLayers; l++) {
    const n = TENSOR_NAMES.layer(l);
    const bias = (name: string) => (c.qkvBias ? W(name) : undefined);
    const hs = xs.map((x) => norm(x, W(n.attnNorm)));
    const qs = hs.map((h, p) => {
      const q = linear(h, W(n.wq), c.nHeads * d, bias(n.bq));
      rot(q, c.nHeads, p);
      return q;
    });
    const ks = hs.map((h, p) => {
      const k = linear(h, W(n.wk), c.nKvHeads * d, bias(n.bk));
      rot(k, c.nKvHeads, p);
      return k;
    });
    const vs = hs.map((h) => linear(h, W(n.wv), c.nKvHeads * d, bias(n.bv)));
    xs = xs.map((x, i) => {
      const att = new Float64Array(c.nHeads * d);
      for (let qh = 0; qh < c.nHeads; qh++) {
        const kh = Math.floor(qh / g);
        const js = [...Array(i + 1).keys()].filter((j) => c.slidingWindow === undefined || i - j < c.slidingWindow);
        const sc = js.map((j) => {
          let s = 0;
          for (let e = 0; e < d; e++) s += qs[i]![qh * d + e]! * ks[j]![kh * d + e]!;
          return s / Math.sqrt(d);
        });
        const mx = Math.max(...sc);
        const ex = sc.map((s) => Math.exp(s - mx));
        const sum = ex.reduce((a, b) => a + b, 0);
        onAttention?.(l, qh, i, js, ex.map((e) => e / sum));
        js.forEach((j, idx) => {
          for (let e = 0; e < d; e++) att[qh * d + e] += (ex[idx]! / sum) * vs[j]![kh * d + e]!;
        });
      }
      const y = x.map((v, k) => v + linear(att, W(n.wo), c.dim)[k]!);
      const h2 = norm(y, W(n.ffnNorm));
      const gate = linear(h2, W(n.wGate), c.hiddenDim);
      const up = linear(h2, W(n.wUp), c.hiddenDim);
      const act = gate.map((gv, k) => (gv / (1 + Math.exp(-gv))) * up[k]!);
      const down = linear(act, W(n.wDown), c.dim);
      return y.map((v, k) => v + down[k]!);
    });
  }
  const head = W(c.tiedEmbeddings ? TENSOR_NAMES.embed : TENSOR_NAMES.lmHead);
  return xs.map((x) => linear(norm(x, W(TENSOR_NAMES.finalNorm)), head, c.vocabSize));
}

export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return maxDiff / maxRef;
}
