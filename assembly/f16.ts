// Half-precision decoding without a table: move exponent and mantissa into float32 position and
// re-bias with one multiply by 2^112 (this also turns f16 subnormals into the right normal value).

/** float16 bits → float32. */
@inline export function f16ToF32(h: u32): f32 {
  const m = (h & 0x7fff) << 13;
  let v = reinterpret<f32>(m) * reinterpret<f32>(0x77800000);
  if ((h & 0x7c00) == 0x7c00) v = reinterpret<f32>(m | 0x7f800000);
  return reinterpret<f32>(reinterpret<u32>(v) | ((h & 0x8000) << 16));
}

/** Four float16 values, zero-extended into i32 lanes → four float32. */
@inline export function f16x4ToF32x4(h: v128): v128 {
  const m = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  let v = f32x4.mul(m, f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  v = v128.bitselect(v128.or(m, i32x4.splat(0x7f800000)), v, special);
  return v128.or(v, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** Four bfloat16 values, zero-extended into i32 lanes → four float32. */
@inline export function bf16x4ToF32x4(h: v128): v128 {
  return i32x4.shl(h, 16);
}
