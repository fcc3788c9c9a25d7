import { DTYPE_LAYOUT, type DType } from '../../src/formats/tensor.js';
import { mulberry32 } from './mulberry32.js';

// Test-side decoders of the GGML block types in float64, written from ggml-common.h's structs and
// walking each block the way ggml's dequantize_row_* loops do (pointers that advance by half or
// by group), so that they share no indexing arithmetic with src/formats/dequant.ts.

/** float16 bits → number, from sign, exponent and mantissa. */
export function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

const u16 = (b: Uint8Array, p: number) => b[p]! | (b[p + 1]! << 8);
const i8 = (v: number) => (v << 24) >> 24;

/** Each decoded value and the sum of the magnitudes of the terms that made it (what rounding error is relative to). */
export interface Decoded { value: Float64Array; scale: Float64Array }

/** Decodes `blocks` blocks of `dtype` from `b`. */
export function naiveDecode(dtype: DType, b: Uint8Array, blocks: number): Decoded {
  const { blockElems, blockBytes } = DTYPE_LAYOUT[dtype];
  const value = new Float64Array(blocks * blockElems);
  const scale = new Float64Array(blocks * blockElems);
  let y = 0;
  const put = (v: number, mag: number) => {
    value[y] = v;
    scale[y++] = mag;
  };
  for (let blk = 0; blk < blocks; blk++) {
    const p = blk * blockBytes;
    switch (dtype) {
      case 'q8_0': {
        const d = half(u16(b, p));
        for (let j = 0; j < 32; j++) put(d * i8(b[p + 2 + j]!), Math.abs(d * 128));
        break;
      }
      case 'q4_0':
      case 'q4_1':
      case 'iq4_nl': {
        const d = half(u16(b, p));
        const m = dtype === 'q4_1' ? half(u16(b, p + 2)) : 0;
        const qs = p + (dtype === 'q4_1' ? 4 : 2);
        const level = (c: number) => (dtype === 'q4_0' ? c - 8 : dtype === 'q4_1' ? c : IQ4NL[c]!);
        const codes = [...Array(16).keys()].map((j) => b[qs + j]! & 15).concat([...Array(16).keys()].map((j) => b[qs + j]! >> 4));
        for (const c of codes) put(d * level(c) + m, Math.abs(d * 128) + Math.abs(m));
        break;
      }
      case 'q5_0':
      case 'q5_1': {
        const d = half(u16(b, p));
        const m = dtype === 'q5_1' ? half(u16(b, p + 2)) : 0;
        const qhAt = p + (dtype === 'q5_1' ? 4 : 2);
        const qh = (b[qhAt]! | (b[qhAt + 1]! << 8) | (b[qhAt + 2]! << 16) | (b[qhAt + 3]! << 24)) >>> 0;
        const qs = qhAt + 4;
        const out = new Array<number>(32);
        for (let j = 0; j < 16; j++) {
          out[j] = (b[qs + j]! & 15) + (Math.floor(qh / 2 ** j) % 2) * 16;
          out[j + 16] = (b[qs + j]! >> 4) + (Math.floor(qh / 2 ** (j + 16)) % 2) * 16;
        }
        for (const c of out) put(d * (dtype === 'q5_0' ? c - 16 : c) + m, Math.abs(d * 32) + Math.abs(m));
        break;
      }
      case 'q2_k': {
        const d = half(u16(b, p + 80));
        const dmin = half(u16(b, p + 82));
        let q = p + 16;
        let is = 0;
        for (let n = 0; n < 256; n += 128) {
          for (let shift = 0; shift < 8; shift += 2)
            for (const off of [0, 16]) {
              const sc = b[p + is++]!;
              for (let l = 0; l < 16; l++) put(d * (sc % 16) * ((b[q + off + l]! >> shift) % 4) - dmin * Math.floor(sc / 16), Math.abs(d * (sc % 16) * 3) + Math.abs(dmin * Math.floor(sc / 16)));
            }
          q += 32;
        }
        break;
      }
      case 'q3_k': {
        const d = half(u16(b, p + 108));
        // 16 scales of 6 bits: the low 4 in bytes 0..7 (low nibbles first), the high 2 in bytes 8..11, 2 bits per scale.
        const s = p + 96;
        const scales: number[] = [];
        for (let j = 0; j < 16; j++) {
          const lowNibble = j < 8 ? b[s + j]! % 16 : Math.floor(b[s + j - 8]! / 16);
          const highPair = Math.floor(b[s + 8 + (j % 4)]! / 4 ** Math.floor(j / 4)) % 4;
          scales.push(lowNibble + 16 * highPair - 32);
        }
        let q = p + 32;
        let is = 0;
        let mask = 1;
        for (let n = 0; n < 256; n += 128) {
          for (let shift = 0; shift < 8; shift += 2) {
            for (const off of [0, 16]) {
              const dl = d * scales[is++]!;
              for (let l = 0; l < 16; l++) put(dl * (((b[q + off + l]! >> shift) & 3) - (b[p + off + l]! & mask ? 0 : 4)), Math.abs(dl * 4));
            }
            mask *= 2;
          }
          q += 32;
        }
        break;
      }
      case 'q4_k':
      case 'q5_k': {
        const d = half(u16(b, p));
        const dmin = half(u16(b, p + 2));
        const s = p + 4;
        const scaleMin = (j: number): [number, number] =>
          j < 4 ? [b[s + j]! % 64, b[s + j + 4]! % 64] : [(b[s + j + 4]! % 16) + 16 * Math.floor(b[s + j - 4]! / 64), Math.floor(b[s + j + 4]! / 16) + 16 * Math.floor(b[s + j]! / 64)];
        const qh = p + 16;
        let ql = p + (dtype === 'q5_k' ? 48 : 16);
        let u1 = 1;
        for (let j = 0; j < 8; j += 2) {
          const [sc1, m1] = scaleMin(j);
          const [sc2, m2] = scaleMin(j + 1);
          const hi = (l: number, u: number) => (dtype === 'q5_k' && b[qh + l]! & u ? 16 : 0);
          for (let l = 0; l < 32; l++) put(d * sc1 * ((b[ql + l]! & 15) + hi(l, u1)) - dmin * m1, Math.abs(d * sc1 * 31) + Math.abs(dmin * m1));
          for (let l = 0; l < 32; l++) put(d * sc2 * ((b[ql + l]! >> 4) + hi(l, u1 * 2)) - dmin * m2, Math.abs(d * sc2 * 31) + Math.abs(dmin * m2));
          ql += 32;
          u1 *= 4;
        }
        break;
      }
      case 'q6_k': {
        const d = half(u16(b, p + 208));
        const half128 = new Float64Array(128);
        const mags = new Float64Array(128);
        for (let n = 0; n < 2; n++) {
          const ql = p + 64 * n;
          const qh = p + 128 + 32 * n;
          const sc = p + 192 + 8 * n;
          for (let l = 0; l < 32; l++) {
            const is = Math.floor(l / 16);
            const q1 = (b[ql + l]! & 15) + 16 * (b[qh + l]! & 3) - 32;
            const q2 = (b[ql + l + 32]! & 15) + 16 * ((b[qh + l]! >> 2) & 3) - 32;
            const q3 = (b[ql + l]! >> 4) + 16 * ((b[qh + l]! >> 4) & 3) - 32;
            const q4 = (b[ql + l + 32]! >> 4) + 16 * ((b[qh + l]! >> 6) & 3) - 32;
            [q1, q2, q3, q4].forEach((qv, k) => {
              const s = i8(b[sc + is + 2 * k]!);
              half128[l + 32 * k] = d * s * qv;
              mags[l + 32 * k] = Math.abs(d * s * 32);
            });
          }
          for (let i = 0; i < 128; i++) put(half128[i]!, mags[i]!);
        }
        break;
      }
      default:
        throw new Error(`no naive decoder for ${dtype}`);
    }
  }
  return { value, scale };
}

/** ggml's kvalues_iq4nl, restated here. */
const IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** Byte offsets of each type's f16 scale fields (d, and m/dmin where present). */
export const HALF_FIELDS: Partial<Record<DType, number[]>> = {
  q8_0: [0], q4_0: [0], iq4_nl: [0], q4_1: [0, 2], q5_0: [0], q5_1: [0, 2], q2_k: [80, 82], q3_k: [108], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208],
};

/** f16 bits of a finite value (round toward zero is enough for test data). */
function toHalfBits(v: number): number {
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a < 2 ** -14) return sign | Math.floor(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.floor((a / 2 ** e - 1) * 1024);
}

/**
 * `blocks` blocks of random bytes whose f16 fields hold random values of magnitude below `maxHalf`
 * (d scaled so that decoded values are of order one).
 */
export function randomBlocks(dtype: DType, blocks: number, seed: number, maxHalf = dtype.endsWith('_k') ? 1 / 256 : 1 / 16): Uint8Array {
  const { blockBytes } = DTYPE_LAYOUT[dtype];
  const r = mulberry32(seed);
  const out = Uint8Array.from({ length: blocks * blockBytes }, () => Math.floor(r() * 256));
  for (let blk = 0; blk < blocks; blk++)
    for (const at of HALF_FIELDS[dtype]!) {
      const bits = toHalfBits((r() * 2 - 1) * maxHalf);
      out[blk * blockBytes + at] = bits & 255;
      out[blk * blockBytes + at + 1] = bits >> 8;
    }
  return out;
}
