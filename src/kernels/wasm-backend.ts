import { availableParallelism } from 'node:os';
import type { CacheStorage } from '../cache/cache-storage.js';
import type { HeadCache } from '../cache/head-cache.js';
import { DTYPE_LAYOUT, tensorBytes, type DType } from '../formats/tensor.js';
import { encodeTensor } from '../formats/writers/encode-tensor.js';
import type { Matrix } from '../model/matrix.js';
import { attendLayer } from './attention.js';
import { toFloat32 } from './dequant.js';
import type { Backend } from './backend.js';
import { kernelsModule } from './load-kernels.js';
import { WasmArena } from './wasm-arena.js';
import { CONTROL_INTS, WorkerPool } from './worker-pool.js';

/** Dtype codes and job opcodes as assembly/ defines them. */
const DTYPE_CODE: Record<DType, number> = { f32: 0, f16: 1, bf16: 2, q8_0: 3, q4_0: 4 };
const OP_MATMUL = 1;
const OP_ATTEND = 2;
const OP_SWIGLU = 3;

interface KernelExports {
  runJob(ctrl: number, chunk: number, chunks: number): void;
  heapBase(): number;
  blockRows(cols: number): number;
  quantizeQ8(x: number, cols: number, q: number): void;
  packX(x: number, n: number, cols: number, dst: number): void;
}

export interface WasmBackendOptions {
  /** Threads including the calling one (default: the machine's cores). */
  threads?: number;
  /** Convert every weight matrix to this dtype at load (default: keep the stored dtype). */
  dtype?: DType;
}

function checkMatrix(m: Matrix): void {
  const bytes = tensorBytes(m.dtype, m.rows * m.cols);
  if (bytes === undefined || m.cols % DTYPE_LAYOUT[m.dtype].blockElems !== 0)
    throw new RangeError(`a ${m.rows}×${m.cols} ${m.dtype} matrix must have whole blocks in every row`);
  if (m.data.byteLength !== bytes) throw new RangeError(`a ${m.rows}×${m.cols} ${m.dtype} matrix needs ${bytes} bytes, got ${m.data.byteLength}`);
}

/** Starts the WebAssembly SIMD backend: compiles the kernels, creates the shared memory and the worker threads. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new RangeError(`threads must be an integer in 1…256, got ${threads}`);
  const module = kernelsModule();
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: true });
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  const arena = new WasmArena(memory, kernels.heapBase());
  const ctrl = arena.alloc(CONTROL_INTS * 4);
  const pool = await WorkerPool.start(module, memory, kernels.runJob, ctrl, threads);
  return new WasmBackend(arena, kernels, pool, opts.dtype);
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

  constructor(
    private readonly arena: WasmArena,
    private readonly kernels: KernelExports,
    private readonly pool: WorkerPool,
    private readonly convertTo?: DType,
  ) {
    this.cacheStorage = { floats: (n) => arena.floats(n), ints: (n) => arena.ints(n) };
  }

  get threads(): number {
    return this.pool.threads;
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
      const converted = { rows: m.rows, cols: m.cols, dtype: to, data: encodeTensor(to, toFloat32(m.dtype, m.data, m.rows * m.cols)) };
      return this.adopt(m.data, converted);
    }
    return this.arena.owns(m.data) ? m : this.adopt(m.data, m);
  }

  allocBytes(bytes: number): Uint8Array {
    return this.arena.bytes(this.arena.alloc(bytes), bytes);
  }

  matmul(out: Float32Array, x: Float32Array, n: number, w: Matrix): void {
    const { rows, cols } = w;
    if (!Number.isInteger(n) || n < 1 || x.length < n * cols || out.length < n * rows)
      throw new RangeError(`matmul: n=${n} needs x ≥ ${n * cols} and out ≥ ${n * rows} floats, got ${x.length} and ${out.length}`);
    const wp = this.prepare(w).data.byteOffset;
    const code = DTYPE_CODE[w.dtype];
    const xp = this.input('x', x, n * cols);
    const op = this.slot('out', n * rows * 4);
    let xq = 0;
    let px = 0;
    let scratch = 0;
    let stride = 0;
    if (n === 1 && (w.dtype === 'q8_0' || w.dtype === 'q4_0')) {
      xq = this.slot('xq', cols * 2 + (cols / 32) * 4);
      this.kernels.quantizeQ8(xp, cols, xq);
    } else if (n > 1) {
      stride = 2 * this.kernels.blockRows(cols) * cols * 4;
      scratch = this.slot('blocks', stride * this.pool.chunks); // one block's room per chunk
      if (n >= 4) {
        px = this.slot('packedX', n * cols * 4);
        this.kernels.packX(xp, n, cols, px);
      }
    }
    this.pool.run(OP_MATMUL, [code, op, xp, n, wp, rows, cols, scratch, stride, xq, px]);
    out.set(this.arena.f32(op, n * rows));
  }

  attend(out: Float32Array, q: Float32Array, n: number, heads: readonly HeadCache[], startPos: number, groupSize: number, window: number | undefined): void {
    const headDim = heads[0]?.headDim ?? 0;
    const len = n * heads.length * groupSize * headDim;
    if (heads.length === 0 || !Number.isInteger(n) || n < 1 || !(groupSize >= 1) || q.length < len || out.length < len)
      throw new RangeError(`attend: ${n} tokens × ${heads.length} KV heads × group ${groupSize} need q and out of ${len} floats, got ${q.length} and ${out.length}`);
    // Tracking attention (H2O, FastGen) or a cache on the JS heap: the TypeScript path does it.
    if (heads.some((h) => h.attention !== null || !this.arena.owns(h.keys) || !this.arena.owns(h.values) || !this.arena.owns(h.positions))) {
      attendLayer(out, q, n, heads, startPos, groupSize, window);
      return;
    }
    const desc = this.slot('heads', heads.length * 16);
    const d = new Int32Array(this.arena.bytes(desc, heads.length * 16).buffer, desc, heads.length * 4);
    heads.forEach((h, i) => d.set([h.keys.byteOffset, h.values.byteOffset, h.positions.byteOffset, h.length], i * 4));
    const qp = this.input('q', q, len);
    const op = this.slot('att', len * 4);
    this.pool.run(OP_ATTEND, [qp, op, n, heads.length * groupSize, groupSize, headDim, desc, startPos, window ?? 0]);
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

  /** Copies m into wasm memory and remembers it under the source bytes `key`. */
  private adopt(key: Uint8Array, m: Matrix): Matrix {
    const bytes = m.data.byteLength;
    const data = this.arena.bytes(this.arena.alloc(bytes), bytes);
    data.set(m.data);
    const moved = { rows: m.rows, cols: m.cols, dtype: m.dtype, data };
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
