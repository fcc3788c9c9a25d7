/**
 * Allocation inside the one shared WebAssembly.Memory: a bump region for weights (they live as
 * long as the backend) and power-of-two blocks that return to a free list when freed explicitly
 * or when the JavaScript view handed out for them is garbage-collected (KV cache buffers).
 */
export class WasmArena {
  private top: number;
  private readonly freeBlocks = new Map<number, number[]>();
  private readonly registry = new FinalizationRegistry<[number, number]>(([size, ptr]) => this.release(ptr, size));
  private buffer: SharedArrayBuffer;
  /** Every buffer object views were made on: shared growth yields a new one per size. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = alignUp(base, 64);
    this.buffer = memory.buffer as unknown as SharedArrayBuffer;
    this.buffers.add(this.buffer);
  }

  /** Bytes handed out so far (weights, blocks, scratch), the high-water mark of the memory in use. */
  get used(): number {
    return this.top;
  }

  /** Permanent allocation, 64-byte aligned. */
  alloc(bytes: number): number {
    const ptr = this.top;
    const end = alignUp(ptr + Math.max(bytes, 1), 64);
    this.ensure(end);
    this.top = end;
    return ptr;
  }

  /** A freeable block of at least `bytes`; free it with `release(ptr, blockSize(bytes))`. */
  block(bytes: number): number {
    const size = blockSize(bytes);
    return this.freeBlocks.get(size)?.pop() ?? this.alloc(size);
  }

  release(ptr: number, size: number): void {
    let list = this.freeBlocks.get(size);
    if (!list) this.freeBlocks.set(size, (list = []));
    list.push(ptr);
  }

  /** A Float32Array of n elements in wasm memory whose block is reused once the array is collected. */
  floats(n: number): Float32Array {
    const size = blockSize(n * 4);
    const a = this.f32(this.block(size), n);
    a.fill(0);
    this.registry.register(a, [size, a.byteOffset], a);
    return a;
  }

  /** An Int32Array of n elements, reclaimed like `floats`. */
  ints(n: number): Int32Array {
    const size = blockSize(n * 4);
    const ptr = this.block(size);
    const a = new Int32Array(this.current(), ptr, n);
    a.fill(0);
    this.registry.register(a, [size, ptr], a);
    return a;
  }

  /** Returns the block of an array from `floats`/`ints` at once; a second call, or any other array, is ignored. */
  free(a: Float32Array | Int32Array): void {
    if (this.registry.unregister(a)) this.release(a.byteOffset, blockSize(a.byteLength));
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.current(), ptr, n);
  }

  bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.current(), ptr, n);
  }

  /** True when `view` lies in this memory (any generation of its buffer). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  private current(): SharedArrayBuffer {
    if (this.buffer.byteLength !== this.memory.buffer.byteLength) {
      this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
      this.buffers.add(this.buffer);
    }
    return this.buffer;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / 65536);
    try {
      // Grow by at least 1/8 (up to 64 MiB) so that many small allocations do not grow page by page.
      this.memory.grow(Math.max(pages, Math.min(1024, Math.ceil(have / 65536 / 8))));
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(`WebAssembly memory cannot grow to ${(end / 2 ** 30).toFixed(2)} GiB (the limit is 4 GiB): the model and cache do not fit; a smaller --dtype may`);
      }
    }
  }
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** Power-of-two size class, at least 64 bytes. */
function blockSize(bytes: number): number {
  return Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
}
