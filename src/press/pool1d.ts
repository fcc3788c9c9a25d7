/**
 * 1-D pooling with kernel K, stride 1, padding floor(K/2) (SnapKV's smoothing, methods.md §3):
 * 'max' pads with −∞, 'avg' zero-pads and counts the pads (PyTorch's defaults).
 */
export function pool1d(x: Float32Array, K: number, kind: 'max' | 'avg'): Float32Array {
  const n = x.length;
  const r = Math.floor(K / 2);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const lo = Math.max(0, j - r);
    const hi = Math.min(n - 1, j - r + K - 1);
    let acc = kind === 'max' ? -Infinity : 0;
    for (let i = lo; i <= hi; i++) acc = kind === 'max' ? Math.max(acc, x[i]!) : acc + x[i]!;
    out[j] = kind === 'max' ? acc : acc / K;
  }
  return out;
}
