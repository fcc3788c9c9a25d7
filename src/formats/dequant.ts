import { DTYPE_LAYOUT, type DType } from './tensor.js';

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
  }
  const { blockElems, blockBytes } = DTYPE_LAYOUT[dtype];
  const decode = BLOCK_DECODERS[dtype];
  for (let b = 0; b < n / blockElems; b++) decode(data, dv, (start / blockElems + b) * blockBytes, out, outOffset + b * blockElems);
}

/** Writes one block (at byte `p` of the tensor) as floats at out[o…]. Arithmetic in float32 steps, as ggml's reference decoders. */
type BlockDecoder = (q: Uint8Array, dv: DataView, p: number, out: Float32Array, o: number) => void;
const f = Math.fround;
const half = (dv: DataView, p: number) => f16Table[dv.getUint16(p, true)]!;

/** IQ4_NL's 16 non-uniform levels (ggml's kvalues_iq4nl). */
export const IQ4_NL_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** 32-element blocks: d (and m) in f16, then 4-bit codes (element i low nibble, i + 16 high), plus a 5th bit in a u32 for q5_*. */
function legacyBlock(codeAt: (q: Uint8Array, dv: DataView, p: number, i: number) => number, hasMin: boolean): BlockDecoder {
  return (q, dv, p, out, o) => {
    const d = half(dv, p);
    const m = hasMin ? half(dv, p + 2) : 0;
    for (let i = 0; i < 32; i++) out[o + i] = f(f(d * codeAt(q, dv, p, i)) + m);
  };
}
const nibble = (q: Uint8Array, at: number, i: number) => (i < 16 ? q[at + i]! & 15 : q[at + i - 16]! >> 4);
const fifthBit = (dv: DataView, at: number, i: number) => ((dv.getUint32(at, true) >>> i) & 1) << 4;

/** The 6-bit scale and min of sub-block j (0…7) of a q4_K/q5_K super-block, packed in 12 bytes at s. */
export function kScaleMin(q: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [q[s + j]! & 63, q[s + j + 4]! & 63];
  return [(q[s + j + 4]! & 15) | ((q[s + j - 4]! >> 6) << 4), (q[s + j + 4]! >> 4) | ((q[s + j]! >> 6) << 4)];
}

/** q4_K / q5_K: d, dmin (f16), 12 bytes of scales, [q5_K: 32 bytes of 5th bits], 128 bytes of nibbles; 8 sub-blocks of 32, x = d·sc·q − dmin·m. */
function kBlock(fiveBit: boolean): BlockDecoder {
  const qs = fiveBit ? 48 : 16;
  return (q, dv, p, out, o) => {
    const d = half(dv, p);
    const dmin = half(dv, p + 2);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = kScaleMin(q, p + 4, j);
      const d1 = f(d * sc);
      const m1 = f(dmin * m);
      // Sub-blocks 2c and 2c+1 share 32 bytes: low nibbles, then high nibbles.
      const at = p + qs + (j >> 1) * 32;
      for (let l = 0; l < 32; l++) {
        let code = j & 1 ? q[at + l]! >> 4 : q[at + l]! & 15;
        if (fiveBit && (q[p + 16 + l]! >> j) & 1) code += 16;
        out[o + j * 32 + l] = f(f(d1 * code) - m1);
      }
    }
  };
}

/**
 * 2-bit codes of q2_K/q3_K: element e of a super-block (halves of 128, in each 4 groups of 32 at
 * shifts 0, 2, 4, 6 of the same 32 bytes).
 */
const crumb = (q: Uint8Array, at: number, e: number) => (q[at + (e >> 7) * 32 + (e & 31)]! >> (((e >> 5) & 3) * 2)) & 3;

/** q3_K's 16 6-bit scales: low 4 bits in bytes 0…7 (low nibble for 0…7, high for 8…15), high 2 bits in bytes 8…11. */
export function q3kScale(q: Uint8Array, s: number, j: number): number {
  const low = j < 8 ? q[s + j]! & 15 : q[s + j - 8]! >> 4;
  return (low | (((q[s + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3) << 4)) - 32;
}

const BLOCK_DECODERS: Record<Exclude<DType, 'f32' | 'f16' | 'bf16'>, BlockDecoder> = {
  q8_0: legacyBlock((_q, dv, p, i) => dv.getInt8(p + 2 + i), false),
  q4_0: legacyBlock((q, _dv, p, i) => nibble(q, p + 2, i) - 8, false),
  q4_1: legacyBlock((q, _dv, p, i) => nibble(q, p + 4, i), true),
  q5_0: legacyBlock((q, dv, p, i) => (nibble(q, p + 6, i) | fifthBit(dv, p + 2, i)) - 16, false),
  q5_1: legacyBlock((q, dv, p, i) => nibble(q, p + 8, i) | fifthBit(dv, p + 4, i), true),
  iq4_nl: legacyBlock((q, _dv, p, i) => IQ4_NL_LEVELS[nibble(q, p + 2, i)]!, false),
  // q2_K: 16 bytes of scales (low nibble scale, high nibble min per 16 elements), 64 of codes, d, dmin.
  q2_k: (q, dv, p, out, o) => {
    const d = half(dv, p + 80);
    const dmin = half(dv, p + 82);
    for (let e = 0; e < 256; e++) {
      const sc = q[p + (e >> 4)]!;
      out[o + e] = f(f(f(d * (sc & 15)) * crumb(q, p + 16, e)) - f(dmin * (sc >> 4)));
    }
  },
  // q3_K: 32 bytes of high bits (set: code as is, clear: code − 4), 64 of 2-bit codes, 12 of scales, d.
  q3_k: (q, dv, p, out, o) => {
    const d = half(dv, p + 108);
    for (let e = 0; e < 256; e++) {
      const high = (q[p + (e & 31)]! >> (e >> 5)) & 1;
      out[o + e] = f(f(d * q3kScale(q, p + 96, e >> 4)) * (crumb(q, p + 32, e) - (high ? 0 : 4)));
    }
  },
  q4_k: kBlock(false),
  q5_k: kBlock(true),
  // q6_K: 128 bytes of low nibbles, 64 of high 2 bits, 16 int8 scales (one per 16 elements), d; x = d·sc·(q − 32).
  q6_k: (q, dv, p, out, o) => {
    const d = half(dv, p + 208);
    for (let e = 0; e < 256; e++) {
      const h = e >> 7; // half of 128: 64 bytes of ql, 32 of qh each
      const l = e & 31;
      const g = (e >> 5) & 3; // group of 32 within the half: ql byte l or l + 32, low or high nibble; qh bits 2g
      const lo = (q[p + h * 64 + l + (g & 1) * 32]! >> ((g >> 1) * 4)) & 15;
      const hi = (q[p + 128 + h * 32 + l]! >> (2 * g)) & 3;
      out[o + e] = f(f(d * dv.getInt8(p + 192 + (e >> 4))) * ((lo | (hi << 4)) - 32));
    }
  },
};
/** A whole tensor as float32. */
export function toFloat32(dtype: DType, data: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  dequantize(dtype, data, 0, n, out);
  return out;
}
