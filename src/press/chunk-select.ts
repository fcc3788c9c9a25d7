/**
 * ChunkKV's chunk pieces (methods.md §10). Chunks are [c·size, min((c+1)·size, end)) over the
 * entries before the observation window.
 */

/**
 * Chunk scores from token scores: `sum` (paper) scores a short trailing chunk by mean × size so it
 * is not penalised for its length (kvtrim choice); `mean` is kvpress's rule.
 */
export function chunkScores(tokenScores: ArrayLike<number>, end: number, size: number, aggregate: 'sum' | 'mean'): Float64Array {
  const out = new Float64Array(Math.ceil(end / size));
  for (let c = 0; c < out.length; c++) {
    const lo = c * size;
    const hi = Math.min(end, lo + size);
    let s = 0;
    for (let j = lo; j < hi; j++) s += tokenScores[j]!;
    out[c] = aggregate === 'mean' || hi - lo < size ? (s / (hi - lo)) * (aggregate === 'mean' ? 1 : size) : s;
  }
  return out;
}

/** Chunk indices by descending score, ties by lower index; NaN ranks last. */
export function rankChunks(scores: ArrayLike<number>): Int32Array {
  const key = (c: number) => (Number.isNaN(scores[c]!) ? -Infinity : scores[c]!);
  return Int32Array.from({ length: scores.length }, (_, c) => c).sort((a, b) => key(b) - key(a) || a - b);
}

/**
 * The kept entries of one head of T: the `window` most recent entries (only the latest nKeep when
 * the budget is smaller), then whole chunks in rank order while they fit, then the leading entries
 * of the next-ranked chunk for the remaining slots (exact budget, contiguity kept). Sorted ascending.
 */
export function chunkKeep(order: Int32Array, T: number, window: number, size: number, nKeep: number): Int32Array {
  if (nKeep >= T) return Int32Array.from({ length: T }, (_, i) => i);
  const w = Math.min(window, T);
  if (nKeep <= w) return Int32Array.from({ length: nKeep }, (_, i) => T - nKeep + i);
  const end = T - w;
  const kept = new Uint8Array(T).fill(1, end);
  let room = nKeep - w;
  for (const c of order) {
    if (room === 0) break;
    const lo = c * size;
    const hi = Math.min(end, lo + size, lo + room);
    kept.fill(1, lo, hi);
    room -= hi - lo;
  }
  const out = new Int32Array(nKeep);
  let k = 0;
  for (let j = 0; j < T; j++) if (kept[j]) out[k++] = j;
  return out;
}
