import type { Checkpoint } from '../formats/checkpoint.js';
import { TENSOR_NAMES } from '../formats/checkpoint.js';
import { checkTensors } from '../formats/check-tensors.js';
import type { RawTensor } from '../formats/tensor.js';
import type { Backend } from '../kernels/backend.js';
import { toFloat32 } from '../formats/dequant.js';
import type { Matrix } from '../kernels/matrix.js';

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: Matrix;
  wk: Matrix;
  wv: Matrix;
  wo: Matrix;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  ffnNorm: Float32Array;
  wGate: Matrix;
  wUp: Matrix;
  wDown: Matrix;
}

export interface ModelWeights {
  embed: Matrix;
  layers: LayerWeights[];
  finalNorm: Float32Array;
  lmHead: Matrix;
}

/** Maps a checkpoint's canonical tensors to the weights the forward pass uses (every shape checked by `checkTensors`). */
export function buildWeights(ckpt: Checkpoint, backend: Backend): ModelWeights {
  const c = ckpt.config;
  checkTensors(ckpt);
  const get = (name: string): RawTensor => ckpt.tensors.get(name)!;
  const vector = (name: string, len: number): Float32Array => {
    const t = get(name);
    return toFloat32(t.dtype, t.data, len);
  };
  const matrix = (name: string, rows: number, cols: number): Matrix => {
    const t = get(name);
    return backend.prepare({ rows, cols, dtype: t.dtype, data: t.data, ...(t.sparse ? { sparse: t.sparse } : {}) });
  };
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const n = TENSOR_NAMES.layer(i);
    layers.push({
      attnNorm: vector(n.attnNorm, c.dim),
      wq: matrix(n.wq, qDim, c.dim),
      wk: matrix(n.wk, kvDim, c.dim),
      wv: matrix(n.wv, kvDim, c.dim),
      wo: matrix(n.wo, c.dim, qDim),
      ...(c.qkvBias ? { bq: vector(n.bq, qDim), bk: vector(n.bk, kvDim), bv: vector(n.bv, kvDim) } : {}),
      ffnNorm: vector(n.ffnNorm, c.dim),
      wGate: matrix(n.wGate, c.hiddenDim, c.dim),
      wUp: matrix(n.wUp, c.hiddenDim, c.dim),
      wDown: matrix(n.wDown, c.dim, c.hiddenDim),
    });
  }
  const embed = matrix(TENSOR_NAMES.embed, c.vocabSize, c.dim);
  const lmHead = c.tiedEmbeddings ? embed : matrix(TENSOR_NAMES.lmHead, c.vocabSize, c.dim);
  return { embed, layers, finalNorm: vector(TENSOR_NAMES.finalNorm, c.dim), lmHead };
}
