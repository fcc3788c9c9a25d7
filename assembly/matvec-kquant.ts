import { hsum } from './dot';
import { f16ToF32 } from './f16';
import { kScaleMin } from './decode-blocks';

// Decode-time dot products of q4_K, q6_K and q5_0 rows with x quantized by quantizeQ8 (int16
// codes per block of 32, then the blocks' f32 scales, then — from quantizeQ8Sums — each block's
// scale × code sum). Codes are unpacked to int8 lanes per sub-block and multiplied with
// i32x4.dot_i16x8_s as the q8_0 path does; each sub-block's integer sum is scaled in f32.

/** 16 int8 codes · 16 int16 activations at xq → four partial sums. */
@inline function dot16(w: v128, xq: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), v128.load(xq)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), v128.load(xq, 16)),
  );
}

/** Appends to quantizeQ8's output (cols codes, cols/32 scales) each block's d·Σq: the term a q4_K min multiplies. */
export function quantizeQ8Sums(xq: usize, cols: i32): void {
  const scales = xq + (<usize>cols << 1);
  const sums = scales + (<usize>(cols >> 5) << 2);
  for (let b = 0; b < (cols >> 5); b++) {
    const qb = xq + (<usize>b << 6);
    const s = i16x8.add(i16x8.add(v128.load(qb), v128.load(qb, 16)), i16x8.add(v128.load(qb, 32), v128.load(qb, 48)));
    const s4 = i32x4.extadd_pairwise_i16x8_s(s); // 32 codes of |q| ≤ 127: the i16 lanes hold ≤ 508
    const total = i32x4.extract_lane(s4, 0) + i32x4.extract_lane(s4, 1) + i32x4.extract_lane(s4, 2) + i32x4.extract_lane(s4, 3);
    store<f32>(sums + (<usize>b << 2), load<f32>(scales + (<usize>b << 2)) * <f32>total);
  }
}

/**
 * One q4_K row (cols/256 super-blocks of f16 d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes
 * of nibbles) · quantized x: Σ_j d·sc_j·dx_j·(q·xq)_j − dmin·m_j·(dx·Σxq)_j over the 8 sub-blocks.
 */
export function dotQ4K(w: usize, xq: usize, cols: i32): f32 {
  const nb = cols >> 8;
  const xd = xq + (<usize>cols << 1);
  const xs = xd + (<usize>(cols >> 5) << 2);
  const low = i8x16.splat(0x0f);
  let acc = f32x4.splat(0);
  let mins: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const bp = w + <usize>b * 144;
    const d = f16ToF32(load<u16>(bp));
    const dmin = f16ToF32(load<u16>(bp, 2));
    for (let c = 0; c < 4; c++) {
      const qs = bp + 16 + (<usize>c << 5);
      const v0 = v128.load(qs);
      const v1 = v128.load(qs, 16);
      const j = b * 8 + c * 2; // x block of the low nibbles; the high ones are block j + 1
      const x0 = xq + (<usize>j << 6);
      const pl = i32x4.add(dot16(v128.and(v0, low), x0), dot16(v128.and(v1, low), x0 + 32));
      const ph = i32x4.add(dot16(i8x16.shr_u(v0, 4), x0 + 64), dot16(i8x16.shr_u(v1, 4), x0 + 96));
      const sm0 = kScaleMin(bp + 4, c * 2);
      const sm1 = kScaleMin(bp + 4, c * 2 + 1);
      const s0 = d * <f32>(sm0 & 255) * load<f32>(xd + (<usize>j << 2));
      const s1 = d * <f32>(sm1 & 255) * load<f32>(xd + (<usize>(j + 1) << 2));
      acc = f32x4.add(acc, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(pl), f32x4.splat(s0)), f32x4.mul(f32x4.convert_i32x4_s(ph), f32x4.splat(s1))));
      mins += dmin * (<f32>(sm0 >> 8) * load<f32>(xs + (<usize>j << 2)) + <f32>(sm1 >> 8) * load<f32>(xs + (<usize>(j + 1) << 2)));
    }
  }
  return hsum(acc) - mins;
}

/**
 * One q6_K row (cols/256 super-blocks of 128 bytes of low nibbles, 64 of high bit pairs, 16 int8
 * scales, f16 d) · quantized x. A super-block is two halves of 128; in each, bytes l of the low
 * nibbles, l + 32, and the high pairs at l hold elements l, l + 32, l + 64 and l + 96.
 */
export function dotQ6K(w: usize, xq: usize, cols: i32): f32 {
  const nb = cols >> 8;
  const xd = xq + (<usize>cols << 1);
  const low = i8x16.splat(0x0f);
  const three = i8x16.splat(3);
  const bias = i8x16.splat(32);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const bp = w + <usize>b * 210;
    const d = f16ToF32(load<u16>(bp, 208));
    for (let h = 0; h < 2; h++) {
      const ql = bp + (<usize>h << 6);
      const qh = bp + 128 + (<usize>h << 5);
      const e0 = b * 256 + h * 128; // first element of this half
      for (let l = 0; l < 32; l += 16) {
        const a = v128.load(ql + <usize>l);
        const c = v128.load(ql + 32 + <usize>l);
        const hb = v128.load(qh + <usize>l);
        const q0 = i8x16.sub(v128.or(v128.and(a, low), i8x16.shl(v128.and(hb, three), 4)), bias);
        const q1 = i8x16.sub(v128.or(v128.and(c, low), i8x16.shl(v128.and(i8x16.shr_u(hb, 2), three), 4)), bias);
        const q2 = i8x16.sub(v128.or(i8x16.shr_u(a, 4), i8x16.shl(v128.and(i8x16.shr_u(hb, 4), three), 4)), bias);
        const q3 = i8x16.sub(v128.or(i8x16.shr_u(c, 4), i8x16.shl(i8x16.shr_u(hb, 6), 4)), bias);
        // Group g's 16 elements start at e0 + 32g + l: sub-block (e0 + 32g + l)/16, x block (e0 + 32g)/32.
        const sc = bp + 192 + <usize>((h * 128 + l) >> 4);
        const xb = xq + (<usize>(e0 + l) << 1);
        const xblk = xd + (<usize>(e0 >> 5) << 2);
        const p0 = f32x4.convert_i32x4_s(dot16(q0, xb));
        const p1 = f32x4.convert_i32x4_s(dot16(q1, xb + 64));
        const p2 = f32x4.convert_i32x4_s(dot16(q2, xb + 128));
        const p3 = f32x4.convert_i32x4_s(dot16(q3, xb + 192));
        const s0 = d * <f32>load<i8>(sc) * load<f32>(xblk);
        const s1 = d * <f32>load<i8>(sc, 2) * load<f32>(xblk, 4);
        const s2 = d * <f32>load<i8>(sc, 4) * load<f32>(xblk, 8);
        const s3 = d * <f32>load<i8>(sc, 6) * load<f32>(xblk, 12);
        acc = f32x4.add(acc, f32x4.add(
          f32x4.add(f32x4.mul(p0, f32x4.splat(s0)), f32x4.mul(p1, f32x4.splat(s1))),
          f32x4.add(f32x4.mul(p2, f32x4.splat(s2)), f32x4.mul(p3, f32x4.splat(s3))),
        ));
      }
    }
  }
  return hsum(acc);
}

/** Bit i of the 16 bits in `bits` as 0x10 in byte lane i: q5_0's fifth bit moved to its place in the code. */
@inline function fifthBits(bits: u32): v128 {
  const v = i8x16.shuffle(i16x8.splat(<i16>bits), i16x8.splat(0), 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const mask = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(v, mask), mask), i8x16.splat(0x10));
}

/** One q5_0 row (cols/32 blocks of f16 d, u32 of fifth bits, 16 bytes of nibbles; value q − 16) · quantized x. */
export function dotQ5_0(w: usize, xq: usize, cols: i32): f32 {
  const nb = cols >> 5;
  const xd = xq + (<usize>cols << 1);
  const low = i8x16.splat(0x0f);
  const sixteen = i8x16.splat(16);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const bp = w + <usize>b * 22;
    const qh = load<u32>(bp, 2);
    const qs = v128.load(bp, 6);
    const lo = i8x16.sub(v128.or(v128.and(qs, low), fifthBits(qh & 0xffff)), sixteen);
    const hi = i8x16.sub(v128.or(i8x16.shr_u(qs, 4), fifthBits(qh >> 16)), sixteen);
    const xb = xq + (<usize>b << 6);
    const p = i32x4.add(dot16(lo, xb), dot16(hi, xb + 32));
    const d = f16ToF32(load<u16>(bp)) * load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(p), f32x4.splat(d)));
  }
  return hsum(acc);
}
