import type { DType } from './tensor.js';

const f16Table = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

export function f16ToF32(h: number): number {
  return f16Table[h & 0xffff]!;
}

const cvtF32 = new Float32Array(1);
const cvtU32 = new Uint32Array(cvtF32.buffer);
/** Round-to-nearest-even float32 → float16 bits. */
export function f32ToF16(x: number): number {
  cvtF32[0] = x;
  const f = cvtU32[0]!;
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  let mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

export function bf16ToF32(h: number): number {
  cvtU32[0] = (h & 0xffff) << 16;
  return cvtF32[0]!;
}

/**
 * Decodes `n` elements starting at element `start` of a tensor stored as `dtype` into `out`.
 * `start` and `n` must be multiples of the dtype's block size for block formats.
 */
export function dequantize(dtype: DType, data: Uint8Array, start: number, n: number, out: Float32Array, outOffset = 0): void {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (dtype) {
    case 'f32':
      for (let i = 0; i < n; i++) out[outOffset + i] = dv.getFloat32((start + i) * 4, true);
      return;
    case 'f16':
      for (let i = 0; i < n; i++) out[outOffset + i] = f16Table[dv.getUint16((start + i) * 2, true)]!;
      return;
    case 'bf16':
      for (let i = 0; i < n; i++) out[outOffset + i] = bf16ToF32(dv.getUint16((start + i) * 2, true));
      return;
    case 'q8_0':
      for (let b = 0; b < n / 32; b++) {
        const off = ((start / 32 + b) * 34) | 0;
        const d = f16Table[dv.getUint16(off, true)]!;
        for (let i = 0; i < 32; i++) out[outOffset + b * 32 + i] = d * dv.getInt8(off + 2 + i);
      }
      return;
    case 'q4_0':
      for (let b = 0; b < n / 32; b++) {
        const off = ((start / 32 + b) * 18) | 0;
        const d = f16Table[dv.getUint16(off, true)]!;
        for (let i = 0; i < 16; i++) {
          const byte = data[off + 2 + i]!;
          out[outOffset + b * 32 + i] = d * ((byte & 0x0f) - 8);
          out[outOffset + b * 32 + i + 16] = d * ((byte >> 4) - 8);
        }
      }
      return;
  }
}

/** A whole tensor as float32. */
export function toFloat32(dtype: DType, data: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  dequantize(dtype, data, 0, n, out);
  return out;
}
