import { platform } from '../platform/platform.js';

let compiled: WebAssembly.Module | undefined;
/** The compiled kernels (build/kernels.wasm, as the platform finds it), compiled once. */
export function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(platform().kernelsBinary());
  return compiled;
}
