import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { DType } from '../formats/tensor.js';
import { ENCODABLE_DTYPES } from '../formats/writers/encode-tensor.js';
import { createWasmBackend } from '../kernels/wasm-backend.js';
import { defaultModelPath } from '../model/default-model.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';

export interface ModelFlags {
  model?: string;
  tokenizer?: string;
  threads?: number;
  dtype?: DType;
  nativeGemm?: boolean;
}

/** The flags every command that runs a model shares. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <path>', 'HF directory, .gguf file or llama2.c .bin (default: the embedded kvtrim-tiny)')
    .option('--tokenizer <file>', "tokenizer to use instead of the model's own: tokenizer.json (or its folder), .gguf, or llama2.c .bin")
    .option('--threads <n>', 'compute threads (default: cores)', countFlag('threads', 1))
    .option('--dtype <type>', `convert weight matrices at load to ${ENCODABLE_DTYPES.join(', ')} (default: as stored)`, dtypeFlag)
    .option('--native-gemm', 'run prefill products on onnxruntime-node\'s GEMM when installed: faster prefill, but logits then depend on batch and chunk sizes');
}

/** Why more threads than cores is a mistake, or undefined when it is not one (threads then take turns on a core and spin-wait on each other). */
export function threadsWarning(threads: number, cores = availableParallelism()): string | undefined {
  return threads > cores ? `--threads ${threads} is more than this machine's ${cores} cores: the extra threads share cores and slow every kernel down` : undefined;
}

/** Loads the model onto the WebAssembly SIMD backend with `--threads` threads. */
export async function openModel(flags: ModelFlags): Promise<LoadedModel> {
  const warning = flags.threads === undefined ? undefined : threadsWarning(flags.threads);
  if (warning) console.warn(`kvtrim: warning: ${warning}`);
  const backend = await createWasmBackend({ threads: flags.threads ?? availableParallelism(), dtype: flags.dtype, nativeGemm: flags.nativeGemm });
  return loadModel(flags.model ?? defaultModelPath(), { tokenizerPath: flags.tokenizer, backend });
}

function dtypeFlag(value: string): DType {
  if (!ENCODABLE_DTYPES.includes(value as DType)) throw new Error(`--dtype expects one of ${ENCODABLE_DTYPES.join(', ')}, got '${value}'`);
  return value as DType;
}

/** Parses a count flag: an integer no smaller than `min` (a negative or fractional token count is a mistake, not a request). */
export function countFlag(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new Error(`--${name} expects an integer of at least ${min}, got '${value}'`);
    return n;
  };
}

/** Parses a numeric flag, rejecting anything that is not a finite number. */
export function numberFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${value}'`);
    return n;
  };
}
