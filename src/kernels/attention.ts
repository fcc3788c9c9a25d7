import type { HeadCache } from '../cache/head-cache.js';

/**
 * Attention of one query vector over one KV head's ragged cache: entries with position ≤ `pos`
 * (causal) and, with a sliding window, position > pos − window. Writes the weighted value sum to
 * out[outOff …], zeros when no entry is visible. When the head tracks attention, adds `accScale` ×
 * each weight to its accumulator (so a GQA group's rows add up to their mean).
 */
export function attendHead(
  out: Float32Array,
  outOff: number,
  q: Float32Array,
  qOff: number,
  head: HeadCache,
  pos: number,
  window: number | undefined,
  scores: Float32Array,
  accScale: number,
): void {
  const d = head.headDim;
  const { keys, values, positions, length } = head;
  const scale = 1 / Math.sqrt(d);
  const lo = window === undefined ? -Infinity : pos - window;
  let max = -Infinity;
  for (let j = 0; j < length; j++) {
    const p = positions[j]!;
    if (p > pos || p <= lo) {
      scores[j] = -Infinity;
      continue;
    }
    let s = 0;
    const ko = j * d;
    for (let i = 0; i < d; i++) s += q[qOff + i]! * keys[ko + i]!;
    s *= scale;
    scores[j] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let j = 0; j < length; j++) {
    const e = scores[j] === -Infinity ? 0 : Math.exp(scores[j]! - max);
    scores[j] = e;
    sum += e;
  }
  out.fill(0, outOff, outOff + d);
  // No visible entry: a zero row, as in the kernels.
  const inv = sum > 0 ? 1 / sum : 0;
  const acc = head.attentionSums;
  for (let j = 0; j < length; j++) {
    const w = scores[j]! * inv;
    if (w === 0) continue;
    if (acc) acc[j] += w * accScale;
    const vo = j * d;
    for (let i = 0; i < d; i++) out[outOff + i] += w * values[vo + i]!;
  }
}

/**
 * Attention of n tokens (token t at position startPos + t) and all their query heads over one
 * layer's KV heads: q and out are n × (heads.length · groupSize) × headDim, query head h reads KV
 * head ⌊h / groupSize⌋. The plain TypeScript twin of the WebAssembly kernel.
 */
export function attendLayer(
  out: Float32Array,
  q: Float32Array,
  n: number,
  heads: readonly HeadCache[],
  startPos: number,
  groupSize: number,
  window: number | undefined,
): void {
  const nHeads = heads.length * groupSize;
  const d = heads[0]!.headDim;
  const scores = new Float32Array(Math.max(1, ...heads.map((h) => h.length)));
  for (let t = 0; t < n; t++)
    for (let qh = 0; qh < nHeads; qh++) {
      const o = (t * nHeads + qh) * d;
      attendHead(out, o, q, o, heads[Math.floor(qh / groupSize)]!, startPos + t, window, scores, 1 / groupSize);
    }
}
