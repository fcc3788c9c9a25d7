import type { CacheStorage } from '../cache/cache-storage.js';
import type { HeadCache } from '../cache/head-cache.js';
import type { Matrix } from './matrix.js';
import type { RowKinds } from './row-kinds.js';

/**
 * The arithmetic the forward pass delegates. The portable TypeScript backend is the test oracle;
 * faster backends (WebAssembly SIMD + threads) implement the same contract.
 */
export interface Backend {
  readonly name: string;
  /** Called once per weight at load; may move the bytes into backend memory and return the new view. */
  prepare(m: Matrix): Matrix;
  /** out[n × w.rows] = x[n × w.cols] · wᵀ (x and out row-major). */
  matmul(out: Float32Array, x: Float32Array, n: number, w: Matrix): void;
  /**
   * outs[i] = x · ws[i]ᵀ for matrices of the same columns and dtype that share x (q/k/v, gate/up); may
   * run as one job. `rows`: n rows as one forward of n tokens, or the rows by summation kind
   * (row-kinds.ts), which a batch of sequences uses to give each row the bits it would get alone.
   */
  matmulShared(outs: readonly Float32Array[], x: Float32Array, rows: number | RowKinds, ws: readonly Matrix[]): void;
  /**
   * Causal attention of n tokens (token t at position startPos + t) over one layer's KV heads, as
   * `attendLayer` in kernels/attention.ts: q and out are n × (heads.length · groupSize) × headDim.
   * `splitKeys` false keeps each query's keys in one part (the summation order of a long prompt's
   * attention) where a backend would otherwise split them across threads for a short call.
   */
  attend(out: Float32Array, q: Float32Array, n: number, heads: readonly HeadCache[], startPos: number, groupSize: number, window: number | undefined, splitKeys?: boolean): void;
  /** gate[i] = silu(gate[i]) · up[i] for i < len (the SwiGLU MLP's nonlinearity), in place. */
  swiglu(gate: Float32Array, up: Float32Array, len: number): void;
  /** Memory to read model files into, so `prepare` finds weights already in place (absent: the JS heap). */
  allocBytes?(bytes: number): Uint8Array;
  /** Where KV caches for this backend keep their buffers (absent: the JS heap). */
  readonly cacheStorage?: CacheStorage;
  /** Releases threads and memory. */
  dispose(): void;
}
