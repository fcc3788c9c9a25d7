import { f16ToF32, f16x4ToF32x4, bf16x4ToF32x4 } from './f16';
import { DT_Q4_1, blockBytes, blockElems, decodeBlocks } from './decode-blocks';

// Decodes stored weight rows to f32 (into a per-chunk scratch block that the f32 GEMM then uses)
// and the 16-bit decode matvec, which converts on the fly.

export const DT_F32 = 0;
export const DT_F16 = 1;
export const DT_BF16 = 2;
export const DT_Q8_0 = 3;
export const DT_Q4_0 = 4;

/** Bytes of one row of `cols` elements. */
export function rowBytes(dtype: i32, cols: i32): usize {
  if (dtype == DT_F32) return <usize>cols << 2;
  if (dtype == DT_Q8_0) return <usize>(cols >> 5) * 34;
  if (dtype == DT_Q4_0) return <usize>(cols >> 5) * 18;
  if (dtype >= DT_Q4_1) return <usize>(cols / blockElems(dtype)) * blockBytes(dtype);
  return <usize>cols << 1;
}

@inline function half4(bf16: bool, p: usize): v128 {
  const h = v128.load16x4_u(p);
  return bf16 ? bf16x4ToF32x4(h) : f16x4ToF32x4(h);
}

@inline export function halfScalar(bf16: bool, h: u32): f32 {
  return bf16 ? reinterpret<f32>(h << 16) : f16ToF32(h);
}

/** `count` rows of cols elements from `src` (dtype) to f32 at dst. */
export function decodeRows(dtype: i32, src: usize, count: i32, cols: i32, dst: usize): void {
  if (dtype == DT_F16 || dtype == DT_BF16) {
    const bf = dtype == DT_BF16;
    const total = count * cols;
    let i = 0;
    for (; i + 4 <= total; i += 4) v128.store(dst + (<usize>i << 2), half4(bf, src + (<usize>i << 1)));
    for (; i < total; i++) store<f32>(dst + (<usize>i << 2), halfScalar(bf, load<u16>(src + (<usize>i << 1))));
    return;
  }
  if (dtype >= DT_Q4_1) {
    decodeBlocks(dtype, src, (count * cols) / blockElems(dtype), dst);
    return;
  }
  const blocks = (count * cols) >> 5;
  for (let b = 0; b < blocks; b++) {
    const o = dst + (<usize>b << 7);
    if (dtype == DT_Q8_0) {
      const bp = src + <usize>b * 34;
      const d = f32x4.splat(f16ToF32(load<u16>(bp)));
      store8(o, v128.load(bp, 2), d);
      store8(o + 64, v128.load(bp, 18), d);
    } else {
      const bp = src + <usize>b * 18;
      const d = f32x4.splat(f16ToF32(load<u16>(bp)));
      const qs = v128.load(bp, 2);
      const eight = i8x16.splat(8);
      store8(o, i8x16.sub(v128.and(qs, i8x16.splat(0x0f)), eight), d);
      store8(o + 64, i8x16.sub(i8x16.shr_u(qs, 4), eight), d);
    }
  }
}

/** Rows of chunk `chunk` of `chunks` (contiguous ranges) of a rows × cols matrix decoded to f32 at dst (same row index). */
export function decodeRowRange(dtype: i32, src: usize, rows: i32, cols: i32, dst: usize, chunk: i32, chunks: i32): void {
  const span = (rows + chunks - 1) / chunks;
  const r0 = min(rows, chunk * span);
  const r1 = min(rows, r0 + span);
  if (r1 > r0) decodeRows(dtype, src + <usize>r0 * rowBytes(dtype, cols), r1 - r0, cols, dst + ((<usize>r0 * cols) << 2));
}

/** 16 int8 lanes × d → 16 f32 at o. */
@inline export function store8(o: usize, q: v128, d: v128): void {
  const lo = i16x8.extend_low_i8x16_s(q);
  const hi = i16x8.extend_high_i8x16_s(q);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
}

/** out[r] = x · w[r] for 16-bit rows r0..r1: one stream per row, four accumulators over 16-element steps. */
@inline function matvec16(bf16: bool, out: usize, x: usize, w: usize, cols: i32, r0: i32, r1: i32): void {
  const k16 = cols & ~15;
  const rs = <usize>cols << 1;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rs;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    const end = wr + (<usize>k16 << 1);
    let xp = x;
    for (let wp = wr; wp < end; wp += 32) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), half4(bf16, wp)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), half4(bf16, wp + 8)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), half4(bf16, wp + 16)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), half4(bf16, wp + 24)));
      xp += 64;
    }
    const acc = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (let k = k16; k < cols; k++) s += load<f32>(x + (<usize>k << 2)) * halfScalar(bf16, load<u16>(wr + (<usize>k << 1)));
    store<f32>(out + (<usize>r << 2), s);
  }
}

export function matvecF16(out: usize, x: usize, w: usize, cols: i32, r0: i32, r1: i32): void {
  matvec16(false, out, x, w, cols, r0, r1);
}

export function matvecBF16(out: usize, x: usize, w: usize, cols: i32, r0: i32, r1: i32): void {
  matvec16(true, out, x, w, cols, r0, r1);
}
