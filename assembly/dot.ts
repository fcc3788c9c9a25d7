// The one summation order every f32-accumulating kernel uses, so a dot product gives the same bits
// whatever tile, row split or thread computed it: lane-wise over steps of 4, lanes summed as
// (l0 + l1) + (l2 + l3), then the scalar tail.

@inline export function hsum(a: v128): f32 {
  return (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

/** Four hsums at once: lane i holds hsum(ai), with the same bits. */
@inline export function hsum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 2, 6), v128.shuffle<f32>(a0, a1, 1, 5, 3, 7));
  const v = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 2, 6), v128.shuffle<f32>(a2, a3, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(u, v, 0, 1, 4, 5), v128.shuffle<f32>(u, v, 2, 3, 6, 7));
}

/** Finishes a dot product of f32 rows x and w whose first k4 (multiple of 4) elements are in `acc`. */
@inline export function finishF32(acc: v128, x: usize, w: usize, k4: i32, cols: i32): f32 {
  let s = hsum(acc);
  for (let k = k4; k < cols; k++) s += load<f32>(x + (<usize>k << 2)) * load<f32>(w + (<usize>k << 2));
  return s;
}

/** Plain f32 dot product of length cols in the shared order. */
export function dotF32(x: usize, w: usize, cols: i32): f32 {
  const k4 = cols & ~3;
  let acc = f32x4.splat(0);
  const end = <usize>k4 << 2;
  for (let k: usize = 0; k < end; k += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(x + k), v128.load(w + k)));
  return finishF32(acc, x, w, k4, cols);
}
