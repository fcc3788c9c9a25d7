import { toFloat32 } from '../dequant.js';
import { matrixToFloat32 } from '../sparse-matrix.js';
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
    const data = t.sparse ? matrixToFloat32({ rows: t.shape[0]!, cols: t.shape[1]!, dtype: t.dtype, data: t.data, sparse: t.sparse }) : toFloat32(t.dtype, t.data, elementCount(t.shape));
    const h = heads.get(name);
    // A sparse matrix stays marked sparse, so converting a pruned file keeps its storage.
    tensors.set(name, { shape: [...t.shape], data: h === undefined ? data : interleavedToHalf(data, h, c.headDim, t.shape[1] ?? 1), ...(t.sparse ? { sparse: t.sparse } : {}) });
  }
  return { config: { ...c, ropeLayout: 'half' }, tensors };
}
