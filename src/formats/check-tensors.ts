import { TENSOR_NAMES, type Checkpoint } from './checkpoint.js';
import { FormatError } from './format-error.js';

/**
 * Checks that every tensor the config needs is present with the right shape, and that no tensor
 * the forward pass would silently ignore (an output or MLP bias) is there. Used by every reader.
 */
export function checkTensors(ckpt: Checkpoint): Checkpoint {
  const c = ckpt.config;
  const expect = (name: string, shape: number[]) => {
    const t = ckpt.tensors.get(name);
    if (!t) throw new FormatError(ckpt.source, `missing tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new FormatError(ckpt.source, `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  };
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  expect(TENSOR_NAMES.embed, [c.vocabSize, c.dim]);
  expect(TENSOR_NAMES.finalNorm, [c.dim]);
  if (!c.tiedEmbeddings) expect(TENSOR_NAMES.lmHead, [c.vocabSize, c.dim]);
  for (let l = 0; l < c.nLayers; l++) {
    const n = TENSOR_NAMES.layer(l);
    expect(n.attnNorm, [c.dim]);
    expect(n.wq, [q, c.dim]);
    expect(n.wk, [kv, c.dim]);
    expect(n.wv, [kv, c.dim]);
    expect(n.wo, [c.dim, q]);
    if (c.qkvBias) {
      expect(n.bq, [q]);
      expect(n.bk, [kv]);
      expect(n.bv, [kv]);
    }
    expect(n.ffnNorm, [c.dim]);
    expect(n.wGate, [c.hiddenDim, c.dim]);
    expect(n.wUp, [c.hiddenDim, c.dim]);
    expect(n.wDown, [c.dim, c.hiddenDim]);
  }
  for (const name of ckpt.tensors.keys())
    if (/\.(o_proj|gate_proj|up_proj|down_proj)\.bias$/.test(name))
      throw new FormatError(ckpt.source, `tensor ${name}: biases on this projection are not supported`);
  return ckpt;
}
