import { modelTensors, type Checkpoint } from './checkpoint.js';
import { FormatError } from './format-error.js';

/**
 * Checks that every tensor the config needs is present with the right shape, and that no tensor
 * the forward pass would silently ignore (an output or MLP bias) is there. Used by every reader.
 */
export function checkTensors(ckpt: Checkpoint): Checkpoint {
  for (const { name, shape } of modelTensors(ckpt.config)) {
    const t = ckpt.tensors.get(name);
    if (!t) throw new FormatError(ckpt.source, `missing tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new FormatError(ckpt.source, `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  for (const name of ckpt.tensors.keys())
    if (/\.(o_proj|gate_proj|up_proj|down_proj)\.bias$/.test(name))
      throw new FormatError(ckpt.source, `tensor ${name}: biases on this projection are not supported`);
  return ckpt;
}
