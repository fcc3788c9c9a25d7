import { gemmF32Block, streamRows } from './gemm-f32';
import { DT_BF16, DT_F16, DT_F32, DT_Q4_0, DT_Q8_0, decodeRows, matvecBF16, matvecF16, rowBytes } from './convert-rows';
import { dotQ4, dotQ8 } from './matvec-quant';
import { DT_Q4_K, DT_Q5_0, DT_Q6_K } from './decode-blocks';
import { dotQ4K, dotQ5_0, dotQ6K } from './matvec-kquant';

/** Weight rows per cache block: about 96 KiB of f32, so a block stays in L2 while every token passes over it. */
export function blockRows(cols: i32): i32 {
  return max(4, (98304 / (cols << 2)) & ~3);
}

/** Whether a single token meets this dtype's rows directly (16-bit conversion on the fly, or int8 dots against quantized x). */
@inline export function decodesInPlace(dtype: i32): bool {
  return (dtype != DT_F32 && dtype <= DT_Q4_0) || dtype == DT_Q4_K || dtype == DT_Q6_K || dtype == DT_Q5_0;
}

/** A single token's x · w[r] for r in [r0, r1) on the in-place path (see decodesInPlace). */
@inline function decodeInPlace(dtype: i32, out: usize, x: usize, xq: usize, w: usize, rb: usize, cols: i32, r0: i32, r1: i32): void {
  if (dtype == DT_F16) matvecF16(out, x, w, cols, r0, r1);
  else if (dtype == DT_BF16) matvecBF16(out, x, w, cols, r0, r1);
  else
    for (let r = r0; r < r1; r++) {
      const wr = w + <usize>r * rb;
      const y = dtype == DT_Q8_0 ? dotQ8(wr, xq, cols) : dtype == DT_Q4_0 ? dotQ4(wr, xq, cols) : dtype == DT_Q4_K ? dotQ4K(wr, xq, cols) : dtype == DT_Q6_K ? dotQ6K(wr, xq, cols) : dotQ5_0(wr, xq, cols);
      store<f32>(out + (<usize>r << 2), y);
    }
}

/**
 * One chunk of out = x · wᵀ, rows split in `chunks` contiguous ranges (multiples of 4). x's rows come
 * in three kinds, in this order, each summed in its own fixed order:
 *  - `tile` rows (a multiple of 4): the GEMM's 4×2 tiles over f32 rows (dotF32's order); a prompt's
 *    first 4·⌊n/4⌋ tokens;
 *  - `stream` rows: each weight row streamed alone (rowDot's order); a prompt's last n mod 4 tokens;
 *  - `single` rows: the single-token path; 16-bit rows converted on the fly, q8_0, q4_0, q4_K, q6_K
 *    and q5_0 rows as int8 dots against that row's x quantized at xq + i·xqStride, other dtypes as
 *    rowDot over decoded rows; decode tokens.
 * A row's result depends on its kind only, never on the other rows, so a sequence gets the same bits
 * alone or in any batch. The weight is read once: a block of blockRows(cols) rows at a time (decoded
 * into this chunk's scratch when a kind needs f32) while every row of x passes over it. For tile rows
 * `px` holds them packed by packX. Each chunk's scratch (scratchStride bytes) holds a decoded block,
 * then its packed copy: 2 × blockRows(cols) × cols floats.
 */
export function matmul(dtype: i32, out: usize, x: usize, tile: i32, stream: i32, single: i32, w: usize, rows: i32, cols: i32, scratch: usize, scratchStride: usize, xq: usize, xqStride: usize, px: usize, chunk: i32, chunks: i32): void {
  const span = ((rows + chunks - 1) / chunks + 3) & ~3;
  const r0 = min(rows, chunk * span);
  const r1 = min(rows, r0 + span);
  if (r0 >= r1) return;
  const rb = rowBytes(dtype, cols);
  const xs = <usize>cols << 2;
  const os = <usize>rows << 2;
  const inPlace = decodesInPlace(dtype);
  const needsF32 = tile + stream > 0 || (single > 0 && !inPlace);
  const br = blockRows(cols);
  const decoded = scratch + <usize>chunk * scratchStride;
  const pack = decoded + (scratchStride >> 1);
  const xSingle = x + <usize>(tile + stream) * xs;
  const oSingle = out + <usize>(tile + stream) * os;
  for (let r = r0; r < r1; r += br) {
    const count = min(br, r1 - r);
    let f32rows = w + <usize>r * rb;
    if (needsF32 && dtype != DT_F32) {
      decodeRows(dtype, f32rows, count, cols, decoded);
      f32rows = decoded;
    }
    if (tile > 0) gemmF32Block(out, x, px, tile, f32rows, rows, cols, r, count, pack);
    if (stream > 0) streamRows(out + <usize>tile * os, x + <usize>tile * xs, stream, f32rows, rows, cols, r, count);
    if (single == 0) continue;
    if (inPlace) for (let i = 0; i < single; i++) decodeInPlace(dtype, oSingle + <usize>i * os, xSingle + <usize>i * xs, xq + <usize>i * xqStride, w, rb, cols, r, r + count);
    else streamRows(oSingle, xSingle, single, f32rows, rows, cols, r, count);
  }
}
