/** gate[i] = silu(gate[i]) * up[i], in place over `len` elements. */
export function swiglu(gate: Float32Array, up: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const g = gate[i]!;
    gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}
