/** Where a KV cache keeps its buffers: the JS heap by default, or a compute backend's memory (so kernels read them in place). */
export interface CacheStorage {
  floats(n: number): Float32Array;
  ints(n: number): Int32Array;
  /**
   * Gives a buffer back now, before the garbage collector would: a backend's memory is not seen by the
   * collector, so caches dropped in a loop would otherwise grow it without bound. Use the buffer no more.
   */
  release(buffer: Float32Array | Int32Array): void;
}

export const heapStorage: CacheStorage = {
  floats: (n) => new Float32Array(n),
  ints: (n) => new Int32Array(n),
  release: () => {},
};
