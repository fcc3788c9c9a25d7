import { toFloat32 } from '../dequant.js';
import { TENSOR_NAMES, type Checkpoint } from '../checkpoint.js';
import { elementCount } from '../tensor.js';
import type { LogicalModel } from './logical-model.js';
import { interleavedToHalf } from './rope-permute.js';

/**
 * A loaded checkpoint as a float32 logical model in the half-split rope layout (interleaved q/k
 * rows are put back), ready for any writer: the way to convert between formats.
 */
export function logicalModelFromCheckpoint(ckpt: Checkpoint): LogicalModel {
  const c = ckpt.config;
  const heads = new Map<string, number>();
  for (let l = 0; l < c.nLayers && c.ropeLayout === 'interleaved'; l++) {
    const n = TENSOR_NAMES.layer(l);
    for (const name of [n.wq, n.bq]) heads.set(name, c.nHeads);
    for (const name of [n.wk, n.bk]) heads.set(name, c.nKvHeads);
  }
  const tensors: LogicalModel['tensors'] = new Map();
  for (const [name, t] of ckpt.tensors) {
    const data = toFloat32(t.dtype, t.data, elementCount(t.shape));
    const h = heads.get(name);
    tensors.set(name, { shape: [...t.shape], data: h === undefined ? data : interleavedToHalf(data, h, c.headDim, t.shape[1] ?? 1) });
  }
  return { config: { ...c, ropeLayout: 'half' }, tensors };
}
