/**
 * The shared score → keep rule (methods.md §0.3): protected entries first (they count inside the
 * budget; if they alone exceed it they are all kept), then the highest scores, ties by lower
 * index; NaN scores rank last. Returns the kept indices sorted ascending.
 */
export function selectKeep(scores: ArrayLike<number>, nKeep: number, protectedMask?: Uint8Array | null): Int32Array {
  const T = scores.length;
  if (nKeep >= T) return Int32Array.from({ length: T }, (_, i) => i);
  const order = Array.from({ length: T }, (_, i) => i);
  // Class first (protected, scored, NaN), then score descending, then lower index.
  const cls = (i: number) => (protectedMask?.[i] ? 0 : Number.isNaN(scores[i]!) ? 2 : 1);
  order.sort((a, b) => {
    const ca = cls(a);
    const cb = cls(b);
    if (ca !== cb) return ca - cb;
    const sa = scores[a]!;
    const sb = scores[b]!;
    return ca !== 1 || sa === sb ? a - b : sb > sa ? 1 : -1;
  });
  let nProtected = 0;
  if (protectedMask) for (let i = 0; i < T; i++) if (protectedMask[i]) nProtected++;
  const kept = Int32Array.from(order.slice(0, Math.max(nKeep, nProtected)));
  return kept.sort();
}

/** Indices of a mask's set entries, ascending. */
export function maskIndices(mask: Uint8Array): Int32Array {
  const out: number[] = [];
  mask.forEach((v, j) => v && out.push(j));
  return Int32Array.from(out);
}

/** A mask marking the last `n` of T entries (observation windows, recent windows). */
export function lastEntries(T: number, n: number): Uint8Array {
  const m = new Uint8Array(T);
  m.fill(1, Math.max(0, T - n));
  return m;
}
