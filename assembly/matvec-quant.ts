import { hsum } from './dot';
import { f16ToF32 } from './f16';

// Decode-time dot products of GGML block rows with activations quantized by quantizeQ8:
// i32x4.dot_i16x8_s does 8 int8×int8 products per instruction; each block's integer sum is
// scaled by d_w·d_x into a float accumulator.

@inline export function dotBlock(w: v128, xq: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), v128.load(xq)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), v128.load(xq, 16)),
  );
}

/** One q8_0 row (cols/32 blocks of f16 d + 32 int8) · quantized x. */
export function dotQ8(w: usize, xq: usize, cols: i32): f32 {
  const nb = cols >> 5;
  const xd = xq + (<usize>cols << 1);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const bp = w + <usize>b * 34;
    const xb = xq + (<usize>b << 6);
    const p = i32x4.add(dotBlock(v128.load(bp, 2), xb), dotBlock(v128.load(bp, 18), xb + 32));
    const d = f16ToF32(load<u16>(bp)) * load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(p), f32x4.splat(d)));
  }
  return hsum(acc);
}

/** One q4_0 row (cols/32 blocks of f16 d + 16 bytes: low nibbles elements 0..15, high 16..31, value q − 8) · quantized x. */
export function dotQ4(w: usize, xq: usize, cols: i32): f32 {
  const nb = cols >> 5;
  const xd = xq + (<usize>cols << 1);
  let acc = f32x4.splat(0);
  const eight = i8x16.splat(8);
  const low = i8x16.splat(0x0f);
  for (let b = 0; b < nb; b++) {
    const bp = w + <usize>b * 18;
    const xb = xq + (<usize>b << 6);
    const qs = v128.load(bp, 2);
    const lo = i8x16.sub(v128.and(qs, low), eight);
    const hi = i8x16.sub(i8x16.shr_u(qs, 4), eight);
    const p = i32x4.add(dotBlock(lo, xb), dotBlock(hi, xb + 32));
    const d = f16ToF32(load<u16>(bp)) * load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(p), f32x4.splat(d)));
  }
  return hsum(acc);
}
