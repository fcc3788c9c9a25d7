import { f16ToF32, f32ToF16 } from '../formats/dequant.js';

/** The block formats a pruned matrix can be quantised to while it is pruned. */
export type PruneQuant = 'q8_0' | 'q4_0';
export const PRUNE_QUANTS: readonly PruneQuant[] = ['q8_0', 'q4_0'];

/** Columns sharing one scale (ggml's q8_0 / q4_0 block). */
export const QUANT_BLOCK = 32;

/** A matrix's quantisation grid: the scale of each row's 32-column blocks (rows · cols/32, row-major). */
export interface QuantGrid {
  quant: PruneQuant;
  scales: Float64Array;
}

/**
 * The scale of one 32-value block, as ggml's reference quantisers choose it and store it (float16):
 * q8_0 d = amax / 127; q4_0 d = (the value of largest magnitude, the first on ties) / −8, so that
 * value lands exactly on code 0. `x(k)` is the block's k-th value. Throws on values too large for a
 * float16 scale.
 */
export function blockScale(quant: PruneQuant, x: (k: number) => number): number {
  let amax = 0;
  let max = 0;
  for (let k = 0; k < QUANT_BLOCK; k++) {
    const v = x(k);
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f16ToF32(f32ToF16(Math.fround(quant === 'q8_0' ? amax / 127 : max / -8)));
  if (!Number.isFinite(d)) throw new RangeError(`a weight of magnitude ${amax} needs a ${quant} scale beyond float16`);
  return d;
}

/** The code of x on the grid of scale d: q8_0 round(x/d) (halves away from zero) in −127…127; q4_0 ⌊x/d + 8.5⌋ in 0…15 (ggml's rule). */
export function gridCode(quant: PruneQuant, x: number, d: number): number {
  if (d === 0) return quant === 'q8_0' ? 0 : 8;
  const t = x / d;
  // + 0 turns the −0 of a small negative value into 0.
  if (quant === 'q8_0') return Math.max(-127, Math.min(127, Math.sign(t) * Math.floor(Math.abs(t) + 0.5))) + 0;
  return Math.max(0, Math.min(15, Math.floor(t + 8.5)));
}

/** What a code decodes to: d·code (q8_0), d·(code − 8) (q4_0); exact in float32 (an 11-bit scale times a small integer). Zero is +0 whatever d's sign. */
export function gridValue(quant: PruneQuant, code: number, d: number): number {
  return d * (quant === 'q8_0' ? code : code - 8) + 0;
}

/**
 * Packs values that each lie on their block's grid (w = gridValue(code, scale)) into ggml's
 * q8_0 / q4_0 bytes: per row, per block of 32, the float16 scale then the codes (q4_0: two per byte,
 * element k in the low nibble of byte k, element k + 16 in its high nibble).
 */
export function packQuantized(w: Float64Array, grid: QuantGrid): Uint8Array {
  const { quant, scales } = grid;
  const blocks = w.length / QUANT_BLOCK;
  const blockBytes = quant === 'q8_0' ? 34 : 18;
  const out = new Uint8Array(blocks * blockBytes);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const d = scales[b]!;
    const p = b * blockBytes;
    dv.setUint16(p, f32ToF16(d), true);
    const code = (k: number) => gridCode(quant, w[b * QUANT_BLOCK + k]!, d);
    if (quant === 'q8_0') for (let k = 0; k < QUANT_BLOCK; k++) dv.setInt8(p + 2 + k, code(k));
    else for (let k = 0; k < 16; k++) out[p + 2 + k] = code(k) | (code(k + 16) << 4);
  }
  return out;
}

/** The grid ggml would choose for a matrix of `w.length / 32` blocks: each block's scale from its own values. */
export function gridOf(quant: PruneQuant, w: Float64Array): QuantGrid {
  const scales = new Float64Array(w.length / QUANT_BLOCK);
  for (let b = 0; b < scales.length; b++) scales[b] = blockScale(quant, (k) => w[b * QUANT_BLOCK + k]!);
  return { quant, scales };
}

/** Rounds every value (in place) to the nearest point of its block's grid. */
export function roundToGrid(w: Float64Array, grid: QuantGrid): void {
  for (let i = 0; i < w.length; i++) {
    const d = grid.scales[Math.floor(i / QUANT_BLOCK)]!;
    w[i] = gridValue(grid.quant, gridCode(grid.quant, w[i]!, d), d);
  }
}
