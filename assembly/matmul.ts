import { gemmF32Block } from './gemm-f32';
import { DT_BF16, DT_F16, DT_F32, DT_Q4_0, DT_Q8_0, decodeRows, matvecBF16, matvecF16, rowBytes } from './convert-rows';
import { dotQ4, dotQ8 } from './matvec-quant';
import { DT_Q4_K, DT_Q5_0, DT_Q6_K } from './decode-blocks';
import { dotQ4K, dotQ5_0, dotQ6K } from './matvec-kquant';

/** Weight rows per cache block: about 96 KiB of f32, so a block stays in L2 while every token passes over it. */
export function blockRows(cols: i32): i32 {
  return max(4, (98304 / (cols << 2)) & ~3);
}

/**
 * One chunk of out[n × rows] = x[n × cols] · wᵀ: rows split in `chunks` contiguous ranges
 * (multiples of 4). f32 weights go straight to the blocked GEMM; other dtypes are
 * decoded block by block into this thread's scratch first, except for a single token (decode),
 * where 16-bit rows are converted on the fly and q8_0, q4_0, q4_K, q6_K and q5_0 rows meet x
 * quantized by quantizeQ8 (and quantizeQ8Sums) into `xq`; the other block types decode. For n ≥ 4, `px` holds x packed by packX. The caller does both once, before the
 * threads start. `chunk` is the index of this chunk of rows among `chunks`; each chunk's scratch
 * (scratchStride bytes) holds a decoded block, then its packed copy: 2 × blockRows(cols) × cols floats.
 */
export function matmul(dtype: i32, out: usize, x: usize, n: i32, w: usize, rows: i32, cols: i32, scratch: usize, scratchStride: usize, xq: usize, px: usize, chunk: i32, chunks: i32): void {
  const span = ((rows + chunks - 1) / chunks + 3) & ~3;
  const r0 = min(rows, chunk * span);
  const r1 = min(rows, r0 + span);
  if (r0 >= r1) return;
  const rb = rowBytes(dtype, cols);
  if (n == 1 && dtype != DT_F32 && dtype <= DT_Q4_0) {
    if (dtype == DT_F16) matvecF16(out, x, w, cols, r0, r1);
    else if (dtype == DT_BF16) matvecBF16(out, x, w, cols, r0, r1);
    else if (dtype == DT_Q8_0) for (let r = r0; r < r1; r++) store<f32>(out + (<usize>r << 2), dotQ8(w + <usize>r * rb, xq, cols));
    else for (let r = r0; r < r1; r++) store<f32>(out + (<usize>r << 2), dotQ4(w + <usize>r * rb, xq, cols));
    return;
  }
  if (n == 1 && (dtype == DT_Q4_K || dtype == DT_Q6_K || dtype == DT_Q5_0)) {
    for (let r = r0; r < r1; r++) {
      const wr = w + <usize>r * rb;
      store<f32>(out + (<usize>r << 2), dtype == DT_Q4_K ? dotQ4K(wr, xq, cols) : dtype == DT_Q6_K ? dotQ6K(wr, xq, cols) : dotQ5_0(wr, xq, cols));
    }
    return;
  }
  const br = blockRows(cols);
  const decoded = scratch + <usize>chunk * scratchStride;
  const pack = decoded + (scratchStride >> 1);
  for (let r = r0; r < r1; r += br) {
    const count = min(br, r1 - r);
    if (dtype == DT_F32) gemmF32Block(out, x, px, n, w + <usize>r * rb, rows, cols, r, count, pack);
    else {
      decodeRows(dtype, w + <usize>r * rb, count, cols, decoded);
      gemmF32Block(out, x, px, n, decoded, rows, cols, r, count, pack);
    }
  }
}
