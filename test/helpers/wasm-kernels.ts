import { after, before } from 'node:test';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm-backend.js';
import { mulberry32 } from './mulberry32.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Compiles build/kernels.wasm when a test runs before `npm run build` has. */
export function ensureKernelsBuilt(): void {
  if (existsSync(fileURLToPath(new URL('../../build/kernels.wasm', import.meta.url)))) return;
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url))], { stdio: 'inherit' });
}

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32). */
export function randoms(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() * 2 - 1;
}

/** True when the two arrays hold the same float bits. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** One- and two-thread backends of the WebAssembly kernels alone (no native GEMM), created before the calling file's tests and disposed after them. */
export function oneAndTwoThreads(): { one: WasmBackend; two: WasmBackend } {
  const b = {} as { one: WasmBackend; two: WasmBackend };
  before(async () => {
    ensureKernelsBuilt();
    b.one = await createWasmBackend({ threads: 1, nativeGemm: false });
    b.two = await createWasmBackend({ threads: 2, nativeGemm: false });
  });
  after(() => {
    b.one.dispose();
    b.two.dispose();
  });
  return b;
}
