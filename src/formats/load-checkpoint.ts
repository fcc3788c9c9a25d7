import { platform } from '../platform/platform.js';
import type { Checkpoint } from './checkpoint.js';
import { FormatError } from './format-error.js';
import { readGgufCheckpoint } from './gguf-checkpoint.js';
import { readHfCheckpoint } from './hf-checkpoint.js';
import { readLlama2cCheckpoint } from './llama2c.js';
import type { ByteAlloc } from './read-file.js';

/**
 * Loads a checkpoint from an HF directory (or a .safetensors file inside one), a .gguf file (or a
 * directory holding just one) or a llama2.c .bin. Anything else is a FormatError naming the path.
 */
export function loadCheckpoint(path: string, opts: { alloc?: ByteAlloc } = {}): Checkpoint {
  const { alloc } = opts;
  const { join, dirname } = platform();
  let isDir: boolean;
  try {
    isDir = platform().stat(path).isDirectory;
  } catch {
    throw new FormatError(path, 'no such file or directory');
  }
  if (isDir) {
    // A directory holding a single GGUF and no config.json (e.g. `kvtrim download --files x.gguf`) means that GGUF.
    const ggufs = platform().listDir(path).filter((f) => f.endsWith('.gguf'));
    if (!platform().exists(join(path, 'config.json')) && ggufs.length === 1) return readGgufCheckpoint(join(path, ggufs[0]!), alloc);
    return readHfCheckpoint(path, alloc);
  }
  if (path.endsWith('.gguf')) return readGgufCheckpoint(path, alloc);
  if (path.endsWith('.bin')) return readLlama2cCheckpoint(path, alloc);
  if (path.endsWith('.safetensors') || path.endsWith('.safetensors.index.json')) return readHfCheckpoint(dirname(path), alloc);
  throw new FormatError(path, 'unknown model format: expected an HF directory, a .gguf file or a llama2.c .bin');
}
