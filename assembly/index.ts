// The kernels' single entry point for the thread pool: a thread that claims chunk `chunk` of a job
// calls runJob with the control block, the chunk index and the chunk count; the job's opcode and
// arguments are i32s written there by the main thread.
import { matmul } from './matmul';
import { attend } from './attention';
import { swiglu } from './swiglu';
import { decodeRowRange } from './convert-rows';
import { readProbe } from './read-probe';
import { decodeSparseRowRange, sparseMatmul } from './matvec-sparse';

export { matmul, blockRows } from './matmul';
export { quantizeQ8 } from './quantize';
export { quantizeQ8Sums } from './matvec-kquant';
export { packX } from './gemm-f32';
export { attend } from './attention';
export { swiglu } from './swiglu';
export { initSparseTables } from './matvec-sparse';

const OP_MATMUL = 1;
const OP_ATTEND = 2;
const OP_SWIGLU = 3;
const OP_DECODE = 4;
const OP_READ_PROBE = 5;
// Numbered apart from the dense ops, so that ops added beside them do not collide.
const OP_SPARSE_MATMUL = 20;
const OP_SPARSE_DECODE = 21;

/** Control block: [4] opcode, [5…] arguments (i32, pointers as unsigned bits). */
export function runJob(ctrl: usize, chunk: i32, chunks: i32): void {
  const op = load<i32>(ctrl, 16);
  const a = ctrl + 20;
  if (op == OP_MATMUL || op == OP_SPARSE_MATMUL) {
    // [dtype, x, tile, stream, single, cols, scratch, stride, xq, xqStride, px, count] then (out, w, rows)
    // per matrix sharing x (w a sparse blob for the sparse op); see matmul for the kinds of rows.
    const count = load<i32>(a, 44);
    for (let i = 0; i < count; i++) {
      const m = a + 48 + <usize>i * 12;
      const dtype = load<i32>(a), x = load<u32>(a, 4), tile = load<i32>(a, 8), stream = load<i32>(a, 12), single = load<i32>(a, 16), cols = load<i32>(a, 20);
      const scratch = load<u32>(a, 24), stride = load<u32>(a, 28), xq = load<u32>(a, 32), xqStride = load<u32>(a, 36), px = load<u32>(a, 40);
      if (op == OP_MATMUL) matmul(dtype, load<u32>(m), x, tile, stream, single, load<u32>(m, 4), load<i32>(m, 8), cols, scratch, stride, xq, xqStride, px, chunk, chunks);
      else sparseMatmul(dtype, load<u32>(m), x, tile, stream, single, load<u32>(m, 4), load<i32>(m, 8), cols, scratch, stride, xq, xqStride, px, chunk, chunks);
    }
  }
  else if (op == OP_ATTEND)
    attend(load<u32>(a), load<u32>(a, 4), load<i32>(a, 8), load<i32>(a, 12), load<i32>(a, 16), load<i32>(a, 20), load<u32>(a, 24), load<i32>(a, 28), load<i32>(a, 32), load<u32>(a, 36), load<u32>(a, 40), load<u32>(a, 44), load<i32>(a, 48), load<i32>(a, 52), load<i32>(a, 56), load<i32>(a, 60), chunk, chunks);
  else if (op == OP_SWIGLU) swiglu(load<u32>(a), load<u32>(a, 4), load<i32>(a, 8), chunk, chunks);
  else if (op == OP_DECODE) decodeRowRange(load<i32>(a), load<u32>(a, 4), load<i32>(a, 8), load<i32>(a, 12), load<u32>(a, 16), chunk, chunks);
  else if (op == OP_SPARSE_DECODE) decodeSparseRowRange(load<i32>(a), load<u32>(a, 4), load<i32>(a, 8), load<i32>(a, 12), load<u32>(a, 16), chunk, chunks);
  else if (op == OP_READ_PROBE) readProbe(load<u32>(a), load<u32>(a, 4), load<u32>(a, 8), chunk, chunks);
}

/** First byte the JavaScript side may allocate from. */
export function heapBase(): usize {
  return __heap_base;
}
