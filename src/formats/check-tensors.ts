import { eachModelTensor, TENSOR_NAMES, type Checkpoint } from './checkpoint.js';
import { FormatError } from './format-error.js';

/**
 * Checks that every tensor the config needs is present with the right shape, and that the file holds
 * no other tensor: an unused tensor (a bias the config does not enable, an extra norm) means an
 * architecture variant the forward pass would silently run wrongly. Used by every reader.
 */
export function checkTensors(ckpt: Checkpoint): Checkpoint {
  const needed = new Set<string>();
  // Lazy: stops at the first missing tensor, so a layer count the file cannot hold fails at once.
  for (const { name, shape } of eachModelTensor(ckpt.config)) {
    const t = ckpt.tensors.get(name);
    if (!t) throw new FormatError(ckpt.source, `missing tensor ${name} (the config asks for ${ckpt.config.nLayers} layers; the file holds ${ckpt.tensors.size} tensors)`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new FormatError(ckpt.source, `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    // The embedding is read row by row at every token; only matrices the kernels multiply by may be sparse.
    if (t.sparse && name === TENSOR_NAMES.embed) throw new FormatError(ckpt.source, `tensor ${name} is stored sparse: the embedding table must be dense`);
    needed.add(name);
  }
  for (const name of ckpt.tensors.keys())
    if (!needed.has(name)) throw new FormatError(ckpt.source, `unexpected tensor ${name}: a ${ckpt.config.arch} model with this config does not use it`);
  return ckpt;
}
