import type { RopeLayout, RopeScaling } from '../formats/model-config.js';

/** Per-pair inverse frequencies θ^(−2i/d), with Llama 3 frequency-dependent scaling when given. */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / headDim);
  if (scaling) {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
    const lowWavelen = originalMaxPositions / lowFreqFactor;
    const highWavelen = originalMaxPositions / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) inv[i] = f / factor;
      else {
        const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        inv[i] = (1 - smooth) * (f / factor) + smooth * f;
      }
    }
  }
  return inv;
}

/** cos and sin of pos · invFreq[i] for every pair i, written from index `at` of each table. */
export function ropeAngles(pos: number, invFreq: Float64Array, cos: Float64Array, sin: Float64Array, at: number): void {
  for (let i = 0; i < invFreq.length; i++) {
    const angle = pos * invFreq[i]!;
    cos[at + i] = Math.cos(angle);
    sin[at + i] = Math.sin(angle);
  }
}

/**
 * Rotates `nHeads` heads of one token in place by the angles at `at` of the cos/sin tables.
 * 'half' pairs (i, i + d/2) (HF rotate_half); 'interleaved' pairs (2i, 2i + 1) (llama2.c, GGUF llama).
 */
export function rotate(x: Float32Array, offset: number, nHeads: number, headDim: number, cos: Float64Array, sin: Float64Array, at: number, layout: RopeLayout): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const c = cos[at + i]!;
    const s = sin[at + i]!;
    const a = layout === 'half' ? i : 2 * i;
    const b = layout === 'half' ? i + half : 2 * i + 1;
    for (let h = 0; h < nHeads; h++) {
      const o = offset + h * headDim;
      const x0 = x[o + a]!;
      const x1 = x[o + b]!;
      x[o + a] = x0 * c - x1 * s;
      x[o + b] = x0 * s + x1 * c;
    }
  }
}

/** Rotates `nHeads` heads of one token in place at absolute position `pos`. */
export function rope(x: Float32Array, offset: number, nHeads: number, headDim: number, pos: number, invFreq: Float64Array, layout: RopeLayout): void {
  const cos = new Float64Array(invFreq.length);
  const sin = new Float64Array(invFreq.length);
  ropeAngles(pos, invFreq, cos, sin, 0);
  rotate(x, offset, nHeads, headDim, cos, sin, 0, layout);
}
