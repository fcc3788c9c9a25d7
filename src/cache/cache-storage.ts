/** Where a KV cache keeps its buffers: the JS heap by default, or a compute backend's memory (so kernels read them in place). */
export interface CacheStorage {
  floats(n: number): Float32Array;
  ints(n: number): Int32Array;
}

export const heapStorage: CacheStorage = {
  floats: (n) => new Float32Array(n),
  ints: (n) => new Int32Array(n),
};
