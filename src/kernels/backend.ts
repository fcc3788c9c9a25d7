import type { Matrix } from '../model/matrix.js';

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
  /** Releases threads and memory. */
  dispose(): void;
}
