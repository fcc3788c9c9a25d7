import { f16ToF32 } from './f16';

// Scalar decoders of the GGML block types past q8_0/q4_0 (see src/formats/dequant.ts for the
// layouts): the prefill GEMM and the generic decode path turn a block of weight rows into f32
// with them. Same float32 steps as the TypeScript decoders, so both give the same bits.

export const DT_Q4_1 = 5;
export const DT_Q5_0 = 6;
export const DT_Q5_1 = 7;
export const DT_IQ4_NL = 8;
export const DT_Q2_K = 9;
export const DT_Q3_K = 10;
export const DT_Q4_K = 11;
export const DT_Q5_K = 12;
export const DT_Q6_K = 13;

/** Elements per block (32 or a 256-element K-quant super-block) of a dtype from DT_Q4_1 on. */
export function blockElems(dtype: i32): i32 {
  return dtype >= DT_Q2_K ? 256 : 32;
}

/** Bytes per block of a dtype from DT_Q4_1 on. */
export function blockBytes(dtype: i32): i32 {
  if (dtype == DT_Q4_1) return 20;
  if (dtype == DT_Q5_0) return 22;
  if (dtype == DT_Q5_1) return 24;
  if (dtype == DT_IQ4_NL) return 18;
  if (dtype == DT_Q2_K) return 84;
  if (dtype == DT_Q3_K) return 110;
  if (dtype == DT_Q4_K) return 144;
  if (dtype == DT_Q5_K) return 176;
  return 210;
}

const IQ4_NL_LEVELS: StaticArray<i8> = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** The 4-bit code of element i (0…31) of 16 packed bytes at q: low nibbles hold 0…15, high 16…31. */
@inline function nibble(q: usize, i: i32): i32 {
  return i < 16 ? <i32>load<u8>(q + <usize>i) & 15 : <i32>load<u8>(q + <usize>(i - 16)) >> 4;
}

/** Scale (low half) and min (high half) of sub-block j of a q4_K/q5_K super-block's 12 scale bytes at s. */
@inline export function kScaleMin(s: usize, j: i32): i32 {
  const a = <i32>load<u8>(s + <usize>j);
  if (j < 4) return (a & 63) | ((<i32>load<u8>(s + <usize>(j + 4)) & 63) << 8);
  const b = <i32>load<u8>(s + <usize>(j + 4));
  return ((b & 15) | ((<i32>load<u8>(s + <usize>(j - 4)) >> 6) << 4)) | (((b >> 4) | ((a >> 6) << 4)) << 8);
}

/** q3_K's signed scale of sub-block j (0…15) from its 12 scale bytes at s. */
@inline function q3kScale(s: usize, j: i32): i32 {
  const low = j < 8 ? <i32>load<u8>(s + <usize>j) & 15 : <i32>load<u8>(s + <usize>(j - 8)) >> 4;
  return (low | (((<i32>load<u8>(s + <usize>(8 + (j & 3))) >> (2 * (j >> 2))) & 3) << 4)) - 32;
}

/** The 2-bit code of element e of a q2_K/q3_K super-block from its 64 code bytes at q. */
@inline function crumb(q: usize, e: i32): i32 {
  return (<i32>load<u8>(q + <usize>((e >> 7) * 32 + (e & 31))) >> (((e >> 5) & 3) * 2)) & 3;
}

/** One block of `dtype` at p to f32 at o. */
function decodeBlock(dtype: i32, p: usize, o: usize): void {
  if (dtype <= DT_IQ4_NL) {
    const d = f16ToF32(load<u16>(p));
    const m: f32 = dtype == DT_Q4_1 || dtype == DT_Q5_1 ? f16ToF32(load<u16>(p, 2)) : 0;
    for (let i = 0; i < 32; i++) {
      let code: i32;
      if (dtype == DT_Q4_1) code = nibble(p + 4, i);
      else if (dtype == DT_IQ4_NL) code = IQ4_NL_LEVELS[nibble(p + 2, i)];
      else {
        const fifth = ((load<u32>(p + (dtype == DT_Q5_0 ? 2 : 4)) >> i) & 1) << 4;
        code = dtype == DT_Q5_0 ? (nibble(p + 6, i) | fifth) - 16 : nibble(p + 8, i) | fifth;
      }
      store<f32>(o + (<usize>i << 2), d * <f32>code + m);
    }
  } else if (dtype == DT_Q2_K) {
    const d = f16ToF32(load<u16>(p, 80));
    const dmin = f16ToF32(load<u16>(p, 82));
    for (let e = 0; e < 256; e++) {
      const sc = <i32>load<u8>(p + <usize>(e >> 4));
      store<f32>(o + (<usize>e << 2), (d * <f32>(sc & 15)) * <f32>crumb(p + 16, e) - dmin * <f32>(sc >> 4));
    }
  } else if (dtype == DT_Q3_K) {
    const d = f16ToF32(load<u16>(p, 108));
    for (let e = 0; e < 256; e++) {
      const high = (<i32>load<u8>(p + <usize>(e & 31)) >> (e >> 5)) & 1;
      store<f32>(o + (<usize>e << 2), (d * <f32>q3kScale(p + 96, e >> 4)) * <f32>(crumb(p + 32, e) - (high ? 0 : 4)));
    }
  } else if (dtype == DT_Q4_K || dtype == DT_Q5_K) {
    const five = dtype == DT_Q5_K;
    const d = f16ToF32(load<u16>(p));
    const dmin = f16ToF32(load<u16>(p, 2));
    const qs = p + (five ? 48 : 16);
    for (let j = 0; j < 8; j++) {
      const sm = kScaleMin(p + 4, j);
      const d1 = d * <f32>(sm & 255);
      const m1 = dmin * <f32>(sm >> 8);
      const at = qs + <usize>((j >> 1) * 32);
      for (let l = 0; l < 32; l++) {
        const byte = <i32>load<u8>(at + <usize>l);
        let code = j & 1 ? byte >> 4 : byte & 15;
        if (five && ((<i32>load<u8>(p + 16 + <usize>l) >> j) & 1)) code += 16;
        store<f32>(o + (<usize>(j * 32 + l) << 2), d1 * <f32>code - m1);
      }
    }
  } else {
    const d = f16ToF32(load<u16>(p, 208));
    for (let e = 0; e < 256; e++) {
      const h = e >> 7;
      const l = e & 31;
      const g = (e >> 5) & 3;
      const lo = (<i32>load<u8>(p + <usize>(h * 64 + l + (g & 1) * 32)) >> ((g >> 1) * 4)) & 15;
      const hi = (<i32>load<u8>(p + 128 + <usize>(h * 32 + l)) >> (2 * g)) & 3;
      store<f32>(o + (<usize>e << 2), (d * <f32>load<i8>(p + 192 + <usize>(e >> 4))) * <f32>((lo | (hi << 4)) - 32));
    }
  }
}

/** `blocks` consecutive blocks of `dtype` (DT_Q4_1 on) at src to f32 at dst. */
export function decodeBlocks(dtype: i32, src: usize, blocks: i32, dst: usize): void {
  const bb = <usize>blockBytes(dtype);
  const out = <usize>blockElems(dtype) << 2;
  for (let b = 0; b < blocks; b++) decodeBlock(dtype, src + <usize>b * bb, dst + <usize>b * out);
}
