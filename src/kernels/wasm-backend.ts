import type { CacheStorage } from '../cache/cache-storage.js';
import type { HeadCache } from '../cache/head-cache.js';
import { DTYPE_LAYOUT, tensorBytes, type DType } from '../formats/tensor.js';
import { platform } from '../platform/platform.js';
import { encodeTensor } from '../formats/writers/encode-tensor.js';
import type { Matrix } from './matrix.js';
import { attendLayer } from './attention.js';
import { encodeSparse, matrixToFloat32, sparseFits, sparseSections, sparseSlots } from '../formats/sparse-matrix.js';
import type { Backend } from './backend.js';
import { kernelsModule } from './load-kernels.js';
import { rowCount, rowKindsOf, type RowKinds } from './row-kinds.js';
import { loadNativeGemm, type NativeGemm } from './native-gemm.js';
import { WasmArena } from './wasm-arena.js';
import { CONTROL_INTS, WorkerPool } from './worker-pool.js';

/** Dtype codes and job opcodes as assembly/ defines them. */
const DTYPE_CODE: Record<DType, number> = {
  f32: 0, f16: 1, bf16: 2, q8_0: 3, q4_0: 4, q4_1: 5, q5_0: 6, q5_1: 7, iq4_nl: 8, q2_k: 9, q3_k: 10, q4_k: 11, q5_k: 12, q6_k: 13,
};
/** Dtypes whose single-token product is an int8 dot with x quantized per block of 32 (the other block types decode a block of rows to f32 first). */
const INT8_DECODE = new Set<DType>(['q8_0', 'q4_0', 'q5_0', 'q4_k', 'q6_k']);
/** Dtypes whose single-token product reads the stored rows directly (the int8 ones and the 16-bit ones, converted on the fly). */
const SINGLE_IN_PLACE = new Set<DType>([...INT8_DECODE, 'f16', 'bf16']);
const OP_MATMUL = 1;
const OP_ATTEND = 2;
const OP_SWIGLU = 3;
const OP_DECODE = 4;
const OP_READ_PROBE = 5;
const OP_SPARSE_MATMUL = 20;
const OP_SPARSE_DECODE = 21;
/** Products one matmul job can hold: its arguments are 12 words plus 3 per matrix, within the control block. */
const MAX_SHARED = 4;
/** Products of at least this many rows go to the native GEMM: below it, copying the weight costs more than the faster GEMM saves. */
const NATIVE_MIN_ROWS = 32;
/** Weights larger than this as f32 (a vocabulary head) stay on the WebAssembly path rather than be copied whole. */
const NATIVE_MAX_WEIGHT_BYTES = 64 << 20;

interface KernelExports {
  runJob(ctrl: number, chunk: number, chunks: number): void;
  heapBase(): number;
  blockRows(cols: number): number;
  quantizeQ8(x: number, cols: number, q: number): void;
  quantizeQ8Sums(q: number, cols: number): void;
  packX(x: number, n: number, cols: number, dst: number): void;
  initSparseTables(): void;
}

export interface WasmBackendOptions {
  /** Threads including the calling one (default: the machine's cores). */
  threads?: number;
  /** Convert every weight matrix to this dtype at load (default: keep the stored dtype). */
  dtype?: DType;
  /**
   * Run prefill-sized products on onnxruntime's native GEMM when onnxruntime-node is installed
   * (default false): faster prefill, but its sums are not in the kernels' fixed order, so a token's
   * logits then depend on how many tokens its product ran with (no batch or chunking invariance).
   */
  nativeGemm?: boolean;
}

function checkMatrix(m: Matrix): void {
  if (m.sparse) {
    // The loader validated the blob (checkSparse); its size is what the kernels' reads rely on.
    const bytes = sparseSections(m.dtype, m.rows, m.cols, sparseSlots(m.data, m.rows)).bytes;
    if (!sparseFits(m.dtype, m.cols, m.sparse) || m.data.byteLength !== bytes) throw new RangeError(`a sparse ${m.rows}×${m.cols} ${m.dtype} matrix needs a ${bytes}-byte blob, got ${m.data.byteLength}`);
    return;
  }
  const bytes = tensorBytes(m.dtype, m.rows * m.cols);
  if (bytes === undefined || m.cols % DTYPE_LAYOUT[m.dtype].blockElems !== 0)
    throw new RangeError(`a ${m.rows}×${m.cols} ${m.dtype} matrix must have whole blocks in every row`);
  if (m.data.byteLength !== bytes) throw new RangeError(`a ${m.rows}×${m.cols} ${m.dtype} matrix needs ${bytes} bytes, got ${m.data.byteLength}`);
}

/** Starts the WebAssembly SIMD backend: compiles the kernels, creates the shared memory and the worker threads. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = opts.threads ?? platform().cores();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new RangeError(`threads must be an integer in 1…256, got ${threads}`);
  const module = kernelsModule();
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: true });
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  const arena = new WasmArena(memory, kernels.heapBase());
  const ctrl = arena.alloc(CONTROL_INTS * 4);
  const pool = await WorkerPool.start(module, memory, kernels.runJob, ctrl, threads);
  // After the workers have instantiated the module, so nothing rewrites the tables once they are filled.
  kernels.initSparseTables();
  const native = opts.nativeGemm === true ? await loadNativeGemm(threads) : undefined;
  return new WasmBackend(arena, kernels, pool, opts.dtype, native);
}

/**
 * Kernels in WebAssembly SIMD over one shared memory, each job cut into chunks (row ranges) that
 * the threads claim. Weights live in that memory once: read there from the file (`allocBytes`) or
 * copied by `prepare`. KV caches made for it (`cacheStorage`) live there too, so attention reads
 * them in place; activations are copied in and out per call (small next to the weights they meet).
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly cacheStorage: CacheStorage;
  private readonly scratch = new Map<string, { ptr: number; bytes: number }>();
  private readonly adopted = new WeakMap<Uint8Array, Matrix>();
  private readonly heapScratch = new Map<string, Float32Array>();

  constructor(
    private readonly arena: WasmArena,
    private readonly kernels: KernelExports,
    private readonly pool: WorkerPool,
    private readonly convertTo?: DType,
    private readonly native?: NativeGemm,
  ) {
    this.cacheStorage = { floats: (n) => arena.floats(n), ints: (n) => arena.ints(n), release: (a) => arena.free(a) };
  }

  get threads(): number {
    return this.pool.threads;
  }

  /**
   * Read bandwidth (GB/s) of all the threads streaming `bytes` of wasm memory with SIMD loads, best
   * of `runs`: the wall a bandwidth-bound decode meets. The probe buffer returns to the free list.
   */
  readBandwidth(bytes = 256 << 20, runs = 3): number {
    const size = 2 ** Math.ceil(Math.log2(bytes));
    const ptr = this.arena.block(size);
    const sums = this.slot('probe', this.pool.chunks * 16);
    try {
      this.arena.bytes(ptr, bytes).fill(1);
      let best = Infinity;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        this.pool.run(OP_READ_PROBE, [ptr, bytes, sums]);
        best = Math.min(best, performance.now() - t0);
      }
      return bytes / (best / 1000) / 1e9;
    } finally {
      this.arena.release(ptr, size);
    }
  }

  /** Whether prefill-sized products run on the native GEMM. */
  get usesNativeGemm(): boolean {
    return this.native !== undefined;
  }

  /** Bytes of wasm memory in use: weights, KV cache blocks and scratch. */
  get memoryBytes(): number {
    return this.arena.used;
  }

  prepare(m: Matrix): Matrix {
    const known = this.adopted.get(m.data);
    if (known) return known;
    checkMatrix(m);
    const to = this.convertTo;
    // Conversion applies to matrices whose rows hold whole blocks of the target dtype.
    if (to && to !== m.dtype && m.cols % DTYPE_LAYOUT[to].blockElems === 0) {
      const dense = encodeTensor(to, matrixToFloat32(m));
      // A sparse matrix stays sparse when the target dtype can be (zeros stay zeros in every encoder).
      const keep = m.sparse && sparseFits(to, m.cols, m.sparse) ? m.sparse : undefined;
      const converted = { rows: m.rows, cols: m.cols, dtype: to, data: keep ? encodeSparse(to, dense, m.rows, m.cols, keep) : dense, ...(keep ? { sparse: keep } : {}) };
      return this.adopt(m.data, converted);
    }
    return this.arena.owns(m.data) ? m : this.adopt(m.data, m);
  }

  allocBytes(bytes: number): Uint8Array {
    return this.arena.bytes(this.arena.alloc(bytes), bytes);
  }

  matmul(out: Float32Array, x: Float32Array, n: number, w: Matrix): void {
    this.matmulShared([out], x, n, [w]);
  }

  /**
   * One job for every product of the same x (q/k/v, gate/up): x is copied, quantized or packed
   * once, and the threads are handed off once, each chunk taking its share of every matrix. `rows`:
   * n rows as one forward of n tokens, or rows by kind (see row-kinds.ts).
   */
  matmulShared(outs: readonly Float32Array[], x: Float32Array, rows: number | RowKinds, ws: readonly Matrix[]): void {
    if (ws.length < 1 || ws.length > MAX_SHARED || outs.length !== ws.length) throw new RangeError(`matmulShared: 1…${MAX_SHARED} matrices with one output each, got ${ws.length} and ${outs.length}`);
    const kinds = typeof rows === 'number' ? rowKindsOf(rows) : rows;
    const n = rowCount(kinds);
    if (!Number.isInteger(n) || n < 1 || kinds.tile % 4 !== 0) throw new RangeError(`matmul: ${JSON.stringify(kinds)} is not a row split (tile rows come in fours)`);
    const prepared = ws.map((w) => this.prepare(w));
    const { cols, dtype } = prepared[0]!;
    // A file may store q, k and v in different dtypes (or some sparse): then each is a job of its own.
    const sparse = prepared[0]!.sparse !== undefined;
    if (prepared.some((w) => w.cols !== cols || w.dtype !== dtype || (w.sparse !== undefined) !== sparse)) return prepared.forEach((w, i) => this.matmulShared([outs[i]!], x, kinds, [w]));
    prepared.forEach((w, i) => {
      if (x.length < n * cols || outs[i]!.length < n * w.rows)
        throw new RangeError(`matmul: n=${n} needs x ≥ ${n * cols} and out ≥ ${n * w.rows} floats, got ${x.length} and ${outs[i]!.length}`);
    });
    const jobs: number[] = [];
    const copies: [Float32Array, number, number][] = [];
    prepared.forEach((w, i) => {
      if (this.native && kinds.single === 0 && n >= NATIVE_MIN_ROWS && w.rows * cols * 4 <= NATIVE_MAX_WEIGHT_BYTES) return this.nativeMatmul(this.native, outs[i]!, x, n, w);
      const op = this.slot(`out${i}`, n * w.rows * 4);
      jobs.push(op, w.data.byteOffset, w.rows);
      copies.push([outs[i]!, op, n * w.rows]);
    });
    if (jobs.length === 0) return;
    const xp = this.input('x', x, n * cols);
    let xq = 0;
    let xqStride = 0;
    let px = 0;
    let scratch = 0;
    let stride = 0;
    if (kinds.single > 0 && INT8_DECODE.has(dtype)) {
      // Each single row meets the weight as int8 against its own x quantized per block of 32.
      xqStride = cols * 2 + (cols / 32) * 8;
      xq = this.slot('xq', kinds.single * xqStride);
      for (let i = 0; i < kinds.single; i++) {
        const at = xq + i * xqStride;
        this.kernels.quantizeQ8(xp + (kinds.tile + kinds.stream + i) * cols * 4, cols, at);
        if (dtype === 'q4_k') this.kernels.quantizeQ8Sums(at, cols);
      }
    }
    if (kinds.tile + kinds.stream > 0 || (kinds.single > 0 && !sparse && dtype !== 'f32' && !SINGLE_IN_PLACE.has(dtype))) {
      stride = 2 * this.kernels.blockRows(cols) * cols * 4;
      scratch = this.slot('blocks', stride * this.pool.chunks); // one block's room per chunk
      if (kinds.tile > 0) {
        px = this.slot('packedX', kinds.tile * cols * 4);
        this.kernels.packX(xp, kinds.tile, cols, px);
      }
    }
    this.pool.run(sparse ? OP_SPARSE_MATMUL : OP_MATMUL, [DTYPE_CODE[dtype], xp, kinds.tile, kinds.stream, kinds.single, cols, scratch, stride, xq, xqStride, px, jobs.length / 3, ...jobs]);
    for (const [out, op, len] of copies) out.set(this.arena.f32(op, len));
  }

  attend(out: Float32Array, q: Float32Array, n: number, heads: readonly HeadCache[], startPos: number, groupSize: number, window: number | undefined, splitKeys = true): void {
    const headDim = heads[0]?.headDim ?? 0;
    const len = n * heads.length * groupSize * headDim;
    if (heads.length === 0 || !Number.isInteger(n) || n < 1 || !(groupSize >= 1) || q.length < len || out.length < len)
      throw new RangeError(`attend: ${n} tokens × ${heads.length} KV heads × group ${groupSize} need q and out of ${len} floats, got ${q.length} and ${out.length}`);
    // Tracking attention (H2O, FastGen) or a cache on the JS heap: the TypeScript path does it.
    if (heads.some((h) => h.attentionSums !== null || !this.arena.owns(h.keys) || !this.arena.owns(h.values) || !this.arena.owns(h.positions))) {
      attendLayer(out, q, n, heads, startPos, groupSize, window);
      return;
    }
    const desc = this.slot('heads', heads.length * 16);
    const d = new Int32Array(this.arena.bytes(desc, heads.length * 16).buffer, desc, heads.length * 4);
    heads.forEach((h, i) => d.set([h.keys.byteOffset, h.values.byteOffset, h.positions.byteOffset, h.length], i * 4));
    const qp = this.input('q', q, len);
    const op = this.slot('att', len * 4);
    // Items are (tile of tokens, KV head, part of the keys); see the kernel. Tokens go in tiles of
    // TILE (decode-sized batches in one). When that makes fewer than 16 items (decode, or a short
    // chunk after a long prefix), each KV head's keys are split into parts of about 128 (at most
    // 16) so that the threads still fill, and the kernel merges them; parts depend on the shapes
    // alone: any thread count, same bits. Scratch: per chunk, the tile's rows of SEGMENT keys;
    // partials only when split, so at most 15 × 16 items' rows.
    const TILE = 4;
    const SEGMENT = 128;
    const maxLen = Math.max(...heads.map((h) => h.length));
    const tile = Math.min(n, TILE);
    const tiles = Math.ceil(n / tile);
    const parts = splitKeys && tiles * heads.length < 16 ? Math.max(1, Math.min(16, Math.ceil(maxLen / 128))) : 1;
    const span = Math.max(4, (Math.ceil(maxLen / parts) + 3) & ~3);
    const items = tiles * heads.length * parts;
    const rowBytes = (tile * groupSize) * (SEGMENT * 4 + 8);
    const scratch = this.slot('attScratch', Math.min(this.pool.chunks, items) * rowBytes);
    let counters = 0;
    let partials = 0;
    if (parts > 1) {
      counters = this.slot('attCounters', tiles * heads.length * 4);
      this.arena.bytes(counters, tiles * heads.length * 4).fill(0);
      partials = this.slot('attPartials', items * tile * groupSize * (headDim + 2) * 4);
    }
    this.pool.run(OP_ATTEND, [qp, op, n, heads.length * groupSize, groupSize, headDim, desc, startPos, window ?? 0, counters, partials, scratch, span, parts, tile, SEGMENT]);
    out.set(this.arena.f32(op, len));
  }

  swiglu(gate: Float32Array, up: Float32Array, len: number): void {
    if (gate.length < len || up.length < len) throw new RangeError(`swiglu: ${len} elements, got gate ${gate.length} and up ${up.length}`);
    const gp = this.input('gate', gate, len);
    const up_ = this.input('up', up, len);
    this.pool.run(OP_SWIGLU, [gp, up_, len]);
    if (!this.arena.owns(gate)) gate.set(this.arena.f32(gp, len));
  }

  dispose(): void {
    this.pool.dispose();
  }

  /**
   * The native GEMM reads only the JS heap: the weight goes there as f32 (decoded by the threads
   * first when stored in another dtype), and so do x and out when they live in wasm memory.
   */
  private nativeMatmul(native: NativeGemm, out: Float32Array, x: Float32Array, n: number, w: Matrix): void {
    const { rows, cols } = w;
    const wp = w.data.byteOffset;
    const weight = this.heap('weight', rows * cols);
    if (w.dtype === 'f32' && !w.sparse) weight.set(this.arena.f32(wp, rows * cols));
    else {
      const decoded = this.slot('decoded', rows * cols * 4);
      this.pool.run(w.sparse ? OP_SPARSE_DECODE : OP_DECODE, [DTYPE_CODE[w.dtype], wp, rows, cols, decoded]);
      weight.set(this.arena.f32(decoded, rows * cols));
    }
    let xs = x;
    if (this.arena.owns(x)) (xs = this.heap('x', n * cols)).set(x.subarray(0, n * cols));
    const o = this.arena.owns(out) ? this.heap('out', n * rows) : out;
    native.gemm(o, xs, n, weight, rows, cols);
    if (o !== out) out.set(o.subarray(0, n * rows));
  }

  /** A JS-heap scratch array named `name` of at least `len` floats, reused across calls. */
  private heap(name: string, len: number): Float32Array {
    const have = this.heapScratch.get(name);
    if (have && have.length >= len) return have;
    const a = new Float32Array(len);
    this.heapScratch.set(name, a);
    return a;
  }

  /** Copies m into wasm memory and remembers it under the source bytes `key`. */
  private adopt(key: Uint8Array, m: Matrix): Matrix {
    const bytes = m.data.byteLength;
    const data = this.arena.bytes(this.arena.alloc(bytes), bytes);
    data.set(m.data);
    const moved = { rows: m.rows, cols: m.cols, dtype: m.dtype, data, ...(m.sparse ? { sparse: m.sparse } : {}) };
    this.adopted.set(key, moved);
    return moved;
  }

  /** A scratch region named `name` of at least `bytes`, reused across calls. */
  private slot(name: string, bytes: number): number {
    const s = this.scratch.get(name);
    if (s && s.bytes >= bytes) return s.ptr;
    if (s) this.arena.release(s.ptr, s.bytes);
    const size = 2 ** Math.ceil(Math.log2(Math.max(bytes, 64)));
    const ptr = this.arena.block(size);
    this.scratch.set(name, { ptr, bytes: size });
    return ptr;
  }

  /** Pointer to `len` floats of `a` in wasm memory, copying them into scratch unless they already live there. */
  private input(name: string, a: Float32Array, len: number): number {
    if (this.arena.owns(a)) return a.byteOffset;
    const ptr = this.slot(name, len * 4);
    this.arena.f32(ptr, len).set(a.subarray(0, len));
    return ptr;
  }
}
