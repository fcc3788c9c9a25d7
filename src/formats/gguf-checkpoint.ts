import type { Checkpoint } from './checkpoint.js';
import { checkTensors } from './check-tensors.js';
import { FormatError } from './format-error.js';
import { parseGguf } from './gguf.js';
import { modelConfigFromGguf, ROPE_FREQS } from './gguf-config.js';
import { ggufToCanonicalNames } from './gguf-names.js';
import { readFileBytes, type ByteAlloc } from './read-file.js';
import { SPARSE_METADATA_KEY, sparseTensors } from './sparse-tensors.js';
import type { RawTensor } from './tensor.js';

/** Reads a GGUF model file; tensors keep their stored dtype and llama.cpp's q/k row layout. */
export function readGgufCheckpoint(path: string, alloc?: ByteAlloc): Checkpoint {
  const gguf = parseGguf(readFileBytes(path, alloc), path);
  const stored = [...gguf.tensors, ...sparseTensors(path, gguf.bytes, gguf.metadata[SPARSE_METADATA_KEY])];
  const config = modelConfigFromGguf(gguf.metadata, stored, path);
  // Every layer has at least 9 tensors, so layers past the tensor count are missing anyway (checkTensors
  // names the first): the name map never grows beyond what the file holds, whatever block_count claims.
  const names = ggufToCanonicalNames(Math.min(config.nLayers, stored.length));
  const tensors = new Map<string, RawTensor>();
  for (const t of stored) {
    if (t.name === ROPE_FREQS) continue; // already folded into config.ropeScaling
    const name = names.get(t.name);
    // An unknown tensor means an architecture variant this engine would silently run wrongly.
    if (name === undefined) throw new FormatError(path, `unexpected tensor '${t.name}' for architecture ${config.arch}`);
    tensors.set(name, { ...t, name });
  }
  return checkTensors({ source: path, format: 'gguf', config, tensors, metadata: gguf.metadata });
}
