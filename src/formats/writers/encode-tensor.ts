import { f32ToF16 } from '../dequant.js';
import type { DType } from '../tensor.js';
import { quantizeQ4K, quantizeQ5_0, quantizeQ6K } from './quantize-kquants.js';

/** The dtypes encodeTensor can write (the others are read-only). */
export const ENCODABLE_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q5_0', 'q4_k', 'q6_k'];

/** Encodes float32 values in a storage dtype; block formats need a whole number of blocks (whole rows). */
export function encodeTensor(dtype: DType, x: Float32Array): Uint8Array {
  switch (dtype) {
    case 'f32':
      return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    case 'f16':
    case 'bf16': {
      const out = new Uint16Array(x.length);
      for (let i = 0; i < x.length; i++) out[i] = dtype === 'f16' ? f32ToF16(x[i]!) : f32ToBf16(x[i]!);
      return new Uint8Array(out.buffer);
    }
    case 'q8_0':
      return quantizeQ8_0(x);
    case 'q4_0':
      return quantizeQ4_0(x);
    case 'q5_0':
      return quantizeQ5_0(x);
    case 'q4_k':
      return quantizeQ4K(x);
    case 'q6_k':
      return quantizeQ6K(x);
    default:
      throw new RangeError(`no encoder for ${dtype} (it can be read, not written)`);
  }
}

const cvtF32 = new Float32Array(1);
const cvtU32 = new Uint32Array(cvtF32.buffer);
/** Round-to-nearest-even float32 → bfloat16 bits (NaN stays a quiet NaN). */
export function f32ToBf16(x: number): number {
  cvtF32[0] = x;
  const b = cvtU32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** C's roundf: halves away from zero (Math.round sends -2.5 to -2). */
const roundAway = (v: number) => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);

/** ggml's reference Q8_0: per block of 32, d = amax/127, q = roundf(x · (1/d)), all in float32. */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    dv.setUint16(b * 34, f32ToF16(d), true);
    for (let i = 0; i < 32; i++) dv.setInt8(b * 34 + 2 + i, roundAway(Math.fround(x[b * 32 + i]! * id)));
  }
  return out;
}

/** ggml's reference Q4_0: d = (value of largest magnitude) / -8, q = min(15, trunc(x · (1/d) + 8.5)). */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 18);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    let max = 0;
    for (let i = 0; i < 32; i++) {
      const v = x[b * 32 + i]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d ? Math.fround(1 / d) : 0;
    dv.setUint16(b * 18, f32ToF16(d), true);
    const q = (v: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(v * id) + 8.5)));
    for (let i = 0; i < 16; i++) out[b * 18 + 2 + i] = q(x[b * 32 + i]!) | (q(x[b * 32 + 16 + i]!) << 4);
  }
  return out;
}
