/** gate[i] = silu(gate[i]) · up[i] over chunk `chunk` of `chunks` contiguous ranges of len elements. */
export function swiglu(gate: usize, up: usize, len: i32, chunk: i32, chunks: i32): void {
  const span = (len + chunks - 1) / chunks;
  const i0 = min(len, chunk * span);
  const i1 = min(len, i0 + span);
  for (let i = i0; i < i1; i++) {
    const p = <usize>i << 2;
    const g = load<f32>(gate + p);
    store<f32>(gate + p, (g / (<f32>1 + Mathf.exp(-g))) * load<f32>(up + p));
  }
}
