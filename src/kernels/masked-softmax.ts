/**
 * The attention rule, written once: which cache entries a query sees and the softmax over them. The
 * forward pass (TypeScript twin of the WebAssembly kernel), the weights presses score and the
 * heatmap's maps all call these, so causal and sliding-window masking cannot drift apart.
 */

/** A query at position `pos` sees an entry at position `p`: causal, and inside the sliding window when the model has one. */
export function visible(p: number, pos: number, slidingWindow: number | undefined): boolean {
  return p <= pos && (slidingWindow === undefined || p > pos - slidingWindow);
}

/** In place: softmax over z[0…length), where −∞ marks a masked entry (weight 0); all zeros when every entry is masked. */
export function maskedSoftmax(z: Float32Array | Float64Array, length: number): void {
  let max = -Infinity;
  for (let j = 0; j < length; j++) if (z[j]! > max) max = z[j]!;
  let sum = 0;
  for (let j = 0; j < length; j++) {
    const e = z[j] === -Infinity ? 0 : Math.exp(z[j]! - max);
    z[j] = e;
    sum += e;
  }
  const inv = sum > 0 ? 1 / sum : 0;
  for (let j = 0; j < length; j++) z[j]! *= inv;
}

/**
 * Softmax attention weights of one query (q[qOff …], d values, at position `pos`) over a head's
 * first `length` entries: scaled dot products q·k / √d, masked by `visible`, into w[0…length).
 */
export function attentionWeights(
  w: Float32Array | Float64Array,
  q: Float32Array,
  qOff: number,
  head: { keys: Float32Array; positions: Int32Array; length: number; headDim: number },
  pos: number,
  slidingWindow: number | undefined,
): void {
  const { keys, positions, length, headDim: d } = head;
  const scale = 1 / Math.sqrt(d);
  for (let j = 0; j < length; j++) {
    if (!visible(positions[j]!, pos, slidingWindow)) {
      w[j] = -Infinity;
      continue;
    }
    let s = 0;
    const ko = j * d;
    for (let i = 0; i < d; i++) s += q[qOff + i]! * keys[ko + i]!;
    w[j] = s * scale;
  }
  maskedSoftmax(w, length);
}
