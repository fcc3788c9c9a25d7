import { DT_BF16, DT_F16, DT_F32, DT_Q4_0, DT_Q8_0, halfScalar, store8 } from './convert-rows';
import { hsum } from './dot';
import { bf16x4ToF32x4, f16ToF32, f16x4ToF32x4 } from './f16';
import { gemmF32Block, streamRows } from './gemm-f32';
import { blockRows } from './matmul';
import { dotBlock } from './matvec-quant';

// Products with sparse weight matrices (kvtrim.sparse v1, src/formats/sparse-matrix.ts: row offsets,
// a u16 bitmask per 16 columns, f16 scales per 32-column block for q8_0/q4_0, the kept values in
// column order). Each step expands the kept values back into the lanes their columns occupy
// (a swizzle chosen by the mask, zero in the pruned lanes) and then does what the dense kernel does
// on the dense-with-zeros row, in its order: same products, same sums, same bits. What the format
// saves is the bytes streamed from memory, which is what bounds decode.

/** Per 4-bit mask: the swizzle placing packed f32 values in their 4 lanes. */
const EXPAND_F32 = memory.data(256, 16);
/** Per 4-bit mask: the swizzle placing packed 16-bit values, zero-extended, in 4 i32 lanes. */
const EXPAND_HALF = memory.data(256, 16);
/** Per 8-bit mask: 8 swizzle indices placing packed bytes in their lanes (0x80: a zero lane). */
const EXPAND_BYTE = memory.data(2048, 8);

/** Fills the expansion tables; called once, before any job (the tables live in the shared memory). */
export function initSparseTables(): void {
  for (let n = 0; n < 16; n++) {
    let k = 0;
    for (let j = 0; j < 4; j++) {
      const on = (n >> j) & 1;
      for (let b = 0; b < 4; b++) {
        store<u8>(EXPAND_F32 + (<usize>n << 4) + (<usize>j << 2) + b, on ? <u8>(4 * k + b) : 0x80);
        store<u8>(EXPAND_HALF + (<usize>n << 4) + (<usize>j << 2) + b, on && b < 2 ? <u8>(2 * k + b) : 0x80);
      }
      k += on;
    }
  }
  for (let m = 0; m < 256; m++) {
    let k = 0;
    for (let j = 0; j < 8; j++) {
      const on = (m >> j) & 1;
      store<u8>(EXPAND_BYTE + (<usize>m << 3) + j, on ? <u8>k : 0x80);
      k += on;
    }
  }
}

@inline function expandF32(vp: usize, nibble: u32): v128 {
  return i8x16.swizzle(v128.load(vp), v128.load(EXPAND_F32 + (<usize>nibble << 4)));
}

@inline function expandHalf(bf16: bool, vp: usize, nibble: u32): v128 {
  const h = i8x16.swizzle(v128.load(vp), v128.load(EXPAND_HALF + (<usize>nibble << 4)));
  return bf16 ? bf16x4ToF32x4(h) : f16x4ToF32x4(h);
}

/** Swizzle indices for 16 byte lanes kept as the bits of `m` say, reading packed values from index `base` on. */
@inline function byteIndices(m: u32, base: u32): v128 {
  const lo = m & 255;
  const rep: u64 = 0x0101010101010101;
  // Adding base (≤ 24) to a 0x80 entry leaves it ≥ 16, still a zero lane; no byte carries into the next.
  const a = load<u64>(EXPAND_BYTE + (<usize>lo << 3)) + <u64>base * rep;
  const b = load<u64>(EXPAND_BYTE + (<usize>(m >> 8) << 3)) + <u64>(base + popcnt(lo)) * rep;
  return i64x2.replace_lane(i64x2.splat(a), 1, b);
}

/** Packed q4_0 codes 0–15 (`second`: 16–31) of a block at vp, as int8 code − 8 (nibbles low first). */
@inline function q4Codes(vp: usize, second: bool): v128 {
  const v = v128.load(vp);
  const lo = v128.and(v, i8x16.splat(0x0f));
  const hi = i8x16.shr_u(v, 4);
  const c = second
    ? v128.shuffle<u8>(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
    : v128.shuffle<u8>(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  return i8x16.sub(c, i8x16.splat(8));
}

/** Int8 lanes 0–15 of one q8_0 / q4_0 block (q4_0: code − 8) from its packed values at vp. */
@inline function blockLow(dtype: i32, vp: usize, m0: u32): v128 {
  return i8x16.swizzle(dtype == DT_Q8_0 ? v128.load(vp) : q4Codes(vp, false), byteIndices(m0, 0));
}

/** Int8 lanes 16–31: they read packed values from popcnt(m0) on, which for q4_0 straddle both code vectors (one swizzle from each). */
@inline function blockHigh(dtype: i32, vp: usize, m0: u32, m1: u32): v128 {
  if (dtype == DT_Q8_0) return i8x16.swizzle(v128.load(vp + popcnt(m0)), byteIndices(m1, 0));
  const i1 = byteIndices(m1, popcnt(m0));
  return v128.or(i8x16.swizzle(q4Codes(vp, false), i1), i8x16.swizzle(q4Codes(vp, true), i8x16.sub(i1, i8x16.splat(16))));
}

/** Bytes of packed values a q4_0 / q8_0 block with masks m0, m1 takes. */
@inline function blockValueBytes(dtype: i32, m0: u32, m1: u32): usize {
  const kept = popcnt(m0) + popcnt(m1);
  return dtype == DT_Q8_0 ? kept : (kept + 1) >> 1;
}

/** x · row for f32 values, in rowDot's order (gemm-f32.ts): four lane accumulators over 16-column steps, then the tail. */
function dotF32(x: usize, mp: usize, vp: usize, cols: i32): f32 {
  const k16 = cols & ~15;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const end = x + (<usize>k16 << 2);
  let xp = x;
  for (; xp < end; xp += 64) {
    const m = <u32>load<u16>(mp);
    mp += 2;
    const n0 = m & 15, n1 = (m >> 4) & 15, n2 = (m >> 8) & 15, n3 = m >> 12;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), expandF32(vp, n0)));
    vp += <usize>popcnt(n0) << 2;
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), expandF32(vp, n1)));
    vp += <usize>popcnt(n1) << 2;
    a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), expandF32(vp, n2)));
    vp += <usize>popcnt(n2) << 2;
    a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), expandF32(vp, n3)));
    vp += <usize>popcnt(n3) << 2;
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  if (k16 < cols) {
    const m = <u32>load<u16>(mp);
    for (let k = k16; k < cols; k++) {
      let w: f32 = 0;
      if ((m >> (k - k16)) & 1) {
        w = load<f32>(vp);
        vp += 4;
      }
      s += load<f32>(x + (<usize>k << 2)) * w;
    }
  }
  return s;
}

/** x · row for f16 / bf16 values, in the dense 16-bit matvec's order (convert-rows.ts). */
function dotHalf(bf16: bool, x: usize, mp: usize, vp: usize, cols: i32): f32 {
  const k16 = cols & ~15;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const end = x + (<usize>k16 << 2);
  let xp = x;
  for (; xp < end; xp += 64) {
    const m = <u32>load<u16>(mp);
    mp += 2;
    const n0 = m & 15, n1 = (m >> 4) & 15, n2 = (m >> 8) & 15, n3 = m >> 12;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), expandHalf(bf16, vp, n0)));
    vp += <usize>popcnt(n0) << 1;
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), expandHalf(bf16, vp, n1)));
    vp += <usize>popcnt(n1) << 1;
    a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), expandHalf(bf16, vp, n2)));
    vp += <usize>popcnt(n2) << 1;
    a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), expandHalf(bf16, vp, n3)));
    vp += <usize>popcnt(n3) << 1;
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  if (k16 < cols) {
    const m = <u32>load<u16>(mp);
    for (let k = k16; k < cols; k++) {
      let h: u32 = 0;
      if ((m >> (k - k16)) & 1) {
        h = load<u16>(vp);
        vp += 2;
      }
      s += load<f32>(x + (<usize>k << 2)) * halfScalar(bf16, h);
    }
  }
  return s;
}

/** Quantized x · a q8_0 / q4_0 row, as dotQ8 / dotQ4 (matvec-quant.ts) compute it on the dense-with-zeros row. */
function dotBlocks(dtype: i32, xq: usize, mp: usize, sp: usize, vp: usize, cols: i32): f32 {
  const nb = cols >> 5;
  const xd = xq + (<usize>cols << 1);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const m0 = <u32>load<u16>(mp), m1 = <u32>load<u16>(mp, 2);
    mp += 4;
    const xb = xq + (<usize>b << 6);
    const p = i32x4.add(dotBlock(blockLow(dtype, vp, m0), xb), dotBlock(blockHigh(dtype, vp, m0, m1), xb + 32));
    vp += blockValueBytes(dtype, m0, m1);
    const d = f16ToF32(load<u16>(sp + (<usize>b << 1))) * load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(p), f32x4.splat(d)));
  }
  return hsum(acc);
}

/** Where a blob's sections and row r's data start. */
@inline function maskWords(cols: i32): usize {
  return <usize>(cols + 15) >> 4;
}
@inline function masksOf(blob: usize, rows: i32): usize {
  return blob + ((<usize>rows + 1) << 2);
}
@inline function scalesOf(blob: usize, rows: i32, cols: i32): usize {
  return masksOf(blob, rows) + ((<usize>rows * maskWords(cols)) << 1);
}
@inline function valuesOf(dtype: i32, blob: usize, rows: i32, cols: i32): usize {
  return scalesOf(blob, rows, cols) + (dtype == DT_Q8_0 || dtype == DT_Q4_0 ? (<usize>rows * <usize>(cols >> 5)) << 1 : 0);
}
@inline function rowValues(dtype: i32, values: usize, blob: usize, r: i32): usize {
  const slot = <usize>load<u32>(blob + (<usize>r << 2));
  return values + (dtype == DT_F32 ? slot << 2 : dtype == DT_Q8_0 ? slot : dtype == DT_Q4_0 ? slot >> 1 : slot << 1);
}

/** Row r of a sparse matrix as dense f32 at dst: the values the dense decoder gives the dense-with-zeros row. */
function decodeRow(dtype: i32, blob: usize, rows: i32, cols: i32, r: i32, dst: usize): void {
  let mp = masksOf(blob, rows) + ((<usize>r * maskWords(cols)) << 1);
  let vp = rowValues(dtype, valuesOf(dtype, blob, rows, cols), blob, r);
  if (dtype == DT_Q8_0 || dtype == DT_Q4_0) {
    const sp = scalesOf(blob, rows, cols) + ((<usize>r * <usize>(cols >> 5)) << 1);
    for (let b = 0; b < (cols >> 5); b++) {
      const m0 = <u32>load<u16>(mp), m1 = <u32>load<u16>(mp, 2);
      mp += 4;
      const d = f32x4.splat(f16ToF32(load<u16>(sp + (<usize>b << 1))));
      store8(dst + (<usize>b << 7), blockLow(dtype, vp, m0), d);
      store8(dst + (<usize>b << 7) + 64, blockHigh(dtype, vp, m0, m1), d);
      vp += blockValueBytes(dtype, m0, m1);
    }
    return;
  }
  const half = dtype != DT_F32;
  const bf16 = dtype == DT_BF16;
  const k16 = cols & ~15;
  for (let k = 0; k < k16; k += 16) {
    const m = <u32>load<u16>(mp);
    mp += 2;
    for (let q = 0; q < 4; q++) {
      const nibble = (m >> (q << 2)) & 15;
      v128.store(dst + (<usize>(k + (q << 2)) << 2), half ? expandHalf(bf16, vp, nibble) : expandF32(vp, nibble));
      vp += <usize>popcnt(nibble) << (half ? 1 : 2);
    }
  }
  if (k16 < cols) {
    const m = <u32>load<u16>(mp);
    for (let k = k16; k < cols; k++) {
      let v: f32 = 0;
      if ((m >> (k - k16)) & 1) {
        v = half ? halfScalar(bf16, load<u16>(vp)) : load<f32>(vp);
        vp += half ? 2 : 4;
      }
      store<f32>(dst + (<usize>k << 2), v);
    }
  }
}

/**
 * One chunk of out = x · wᵀ for a sparse w, with matmul's arguments, row split and kinds of x rows
 * (matmul.ts): single rows take the row dot products above, each over its own quantized x for the
 * block dtypes; tile and stream rows meet a block of rows decoded to f32 in this chunk's scratch,
 * through the dense GEMM.
 */
export function sparseMatmul(dtype: i32, out: usize, x: usize, tile: i32, stream: i32, single: i32, blob: usize, rows: i32, cols: i32, scratch: usize, scratchStride: usize, xq: usize, xqStride: usize, px: usize, chunk: i32, chunks: i32): void {
  const span = ((rows + chunks - 1) / chunks + 3) & ~3;
  const r0 = min(rows, chunk * span);
  const r1 = min(rows, r0 + span);
  if (r0 >= r1) return;
  const xs = <usize>cols << 2;
  const os = <usize>rows << 2;
  if (single > 0) {
    const masks = masksOf(blob, rows);
    const scales = scalesOf(blob, rows, cols);
    const values = valuesOf(dtype, blob, rows, cols);
    const words = maskWords(cols);
    for (let r = r0; r < r1; r++) {
      const mp = masks + ((<usize>r * words) << 1);
      const vp = rowValues(dtype, values, blob, r);
      const sp = scales + ((<usize>r * <usize>(cols >> 5)) << 1);
      for (let i = 0; i < single; i++) {
        const xi = x + <usize>(tile + stream + i) * xs;
        let y: f32;
        if (dtype == DT_F32) y = dotF32(xi, mp, vp, cols);
        else if (dtype == DT_F16 || dtype == DT_BF16) y = dotHalf(dtype == DT_BF16, xi, mp, vp, cols);
        else y = dotBlocks(dtype, xq + <usize>i * xqStride, mp, sp, vp, cols);
        store<f32>(out + <usize>(tile + stream + i) * os + (<usize>r << 2), y);
      }
    }
  }
  if (tile + stream == 0) return;
  const br = blockRows(cols);
  const decoded = scratch + <usize>chunk * scratchStride;
  const pack = decoded + (scratchStride >> 1);
  for (let r = r0; r < r1; r += br) {
    const count = min(br, r1 - r);
    for (let i = 0; i < count; i++) decodeRow(dtype, blob, rows, cols, r + i, decoded + ((<usize>i * cols) << 2));
    if (tile > 0) gemmF32Block(out, x, px, tile, decoded, rows, cols, r, count, pack);
    if (stream > 0) streamRows(out + <usize>tile * os, x + <usize>tile * xs, stream, decoded, rows, cols, r, count);
  }
}

/** Rows of chunk `chunk` of `chunks` of a sparse matrix decoded to dense f32 at dst (the native GEMM's weight). */
export function decodeSparseRowRange(dtype: i32, blob: usize, rows: i32, cols: i32, dst: usize, chunk: i32, chunks: i32): void {
  const span = (rows + chunks - 1) / chunks;
  const r0 = min(rows, chunk * span);
  const r1 = min(rows, r0 + span);
  for (let r = r0; r < r1; r++) decodeRow(dtype, blob, rows, cols, r, dst + ((<usize>r * cols) << 2));
}
