/**
 * Asymmetric min–max quantisation (KIVI, methods.md §13): scale = (max − min)/(2^b − 1),
 * q = clamp(round((x − min)/scale)), x̂ = q·scale + min; max = min stores q = 0 and x̂ = min exactly.
 * Codes are packed: one per byte for 8 bits, two per byte (low nibble first) for 4 bits.
 */
export type QuantBits = 8 | 4;

/** Bytes that n packed codes of `bits` occupy. */
export function codeBytes(n: number, bits: QuantBits): number {
  return Math.ceil((n * bits) / 8);
}

/**
 * Quantises n values x[xOff + i·stride] into codes at code indices cOff + i·cStride of `codes`;
 * writes the group's min and scale to mins[g], scales[g].
 */
export function quantizeGroup(
  x: Float32Array,
  xOff: number,
  stride: number,
  n: number,
  bits: QuantBits,
  codes: Uint8Array,
  cOff: number,
  cStride: number,
  mins: Float32Array,
  scales: Float32Array,
  g: number,
): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i * stride]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const levels = (1 << bits) - 1;
  const scale = Math.fround((hi - lo) / levels);
  mins[g] = lo;
  scales[g] = scale;
  for (let i = 0; i < n; i++) {
    const q = scale === 0 ? 0 : Math.min(levels, Math.max(0, Math.round((x[xOff + i * stride]! - lo) / scale)));
    setCode(codes, cOff + i * cStride, q, bits);
  }
}

/** The dequantised value of code index c in a group with the given min and scale. */
export function dequantizeCode(codes: Uint8Array, c: number, bits: QuantBits, min: number, scale: number): number {
  return getCode(codes, c, bits) * scale + min;
}

function setCode(codes: Uint8Array, c: number, q: number, bits: QuantBits): void {
  if (bits === 8) codes[c] = q;
  else {
    const b = c >> 1;
    codes[b] = c & 1 ? (codes[b]! & 0x0f) | (q << 4) : (codes[b]! & 0xf0) | q;
  }
}

function getCode(codes: Uint8Array, c: number, bits: QuantBits): number {
  return bits === 8 ? codes[c]! : c & 1 ? codes[c >> 1]! >> 4 : codes[c >> 1]! & 0x0f;
}
