/** Marks (mark[i] = 1) exactly k entries of `values` with the smallest value; ties go to the lower index, so the choice is deterministic. */
export function selectSmallest(values: Float64Array, k: number, mark: Uint8Array): void {
  const len = values.length;
  mark.fill(0, 0, len);
  if (k <= 0) return;
  if (k >= len) {
    mark.fill(1, 0, len);
    return;
  }
  const sorted = Float64Array.from(values).sort();
  const threshold = sorted[k - 1]!;
  let below = 0;
  for (let i = 0; i < len; i++)
    if (values[i]! < threshold) {
      mark[i] = 1;
      below++;
    }
  for (let i = 0, left = k - below; i < len && left > 0; i++)
    if (values[i] === threshold) {
      mark[i] = 1;
      left--;
    }
}

/** In one group of m values at `offset`, marks the n smallest (ties to the lower index) in `mark` at the same offsets. */
export function selectSmallestInGroup(values: Float64Array, offset: number, m: number, n: number, mark: Uint8Array): void {
  for (let c = 0; c < m; c++) mark[offset + c] = 0;
  for (let picked = 0; picked < n; picked++) {
    let best = -1;
    for (let c = 0; c < m; c++) if (!mark[offset + c] && (best < 0 || values[offset + c]! < values[offset + best]!)) best = c;
    mark[offset + best] = 1;
  }
}
