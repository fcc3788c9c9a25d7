import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The compiled kernels, build/kernels.wasm at the repository root (seen from src/ or dist/src/). */
export function kernelsWasmPath(): string {
  for (const rel of ['../../build/kernels.wasm', '../../../build/kernels.wasm']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('build/kernels.wasm not found: run `npm run build` (it compiles assembly/ with AssemblyScript)');
}

let compiled: WebAssembly.Module | undefined;
export function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(kernelsWasmPath()));
  return compiled;
}
