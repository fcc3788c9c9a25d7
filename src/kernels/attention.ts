import type { HeadCache } from '../cache/head-cache.js';
import { attentionWeights } from './masked-softmax.js';

/**
 * Attention of one query vector over one KV head's ragged cache (`attentionWeights`: causal, sliding
 * window). Writes the weighted value sum to out[outOff …], zeros when no entry is visible. When the
 * head keeps attention sums, adds `accScale` × each weight to them (so a GQA group's rows add up to their mean).
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
  attentionWeights(scores, q, qOff, head, pos, window);
  out.fill(0, outOff, outOff + d);
  const acc = head.attentionSums;
  const { values, length } = head;
  for (let j = 0; j < length; j++) {
    const w = scores[j]!;
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
