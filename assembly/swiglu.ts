import { exp4 } from './exp4';

/** silu(g) · u = g / (1 + e^−g) · u on four lanes. */
@inline function swiglu4(g: v128, u: v128): v128 {
  return f32x4.mul(f32x4.div(g, f32x4.add(f32x4.splat(1), exp4(f32x4.neg(g)))), u);
}

/**
 * gate[i] = silu(gate[i]) · up[i] over chunk `chunk` of `chunks` contiguous ranges of len elements
 * (multiples of 4 but the last), four at a time; the tail goes through the same four-lane code,
 * so every element gets the same bits whatever the chunking.
 */
export function swiglu(gate: usize, up: usize, len: i32, chunk: i32, chunks: i32): void {
  const span = ((len + chunks - 1) / chunks + 3) & ~3;
  const i0 = min(len, chunk * span);
  const i1 = min(len, i0 + span);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const p = <usize>i << 2;
    v128.store(gate + p, swiglu4(v128.load(gate + p), v128.load(up + p)));
  }
  for (; i < i1; i++) {
    const p = <usize>i << 2;
    store<f32>(gate + p, f32x4.extract_lane(swiglu4(f32x4.splat(load<f32>(gate + p)), f32x4.splat(load<f32>(up + p))), 0));
  }
}
