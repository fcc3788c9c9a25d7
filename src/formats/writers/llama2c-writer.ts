import { platform } from '../../platform/platform.js';
import { TENSOR_NAMES } from '../checkpoint.js';
import { FormatError } from '../format-error.js';
import { LLAMA2C_V0_HEADER_BYTES } from '../llama2c.js';
import type { LogicalModel } from './logical-model.js';
import { halfToInterleaved } from './rope-permute.js';

/**
 * Writes a llama2.c legacy (v0) .bin: q/k rows permuted to interleaved pairs, tensors stacked over
 * layers, the (unused) freq_cis tables, and an untied classifier last (signalled by a negative
 * vocab_size). Only configs run.c can express: no biases, head dim = dim / heads, eps 1e-5,
 * theta 10000, no rope scaling, no sliding window.
 */
export function writeLlama2cModel(path: string, model: LogicalModel): void {
  const c = model.config;
  const why =
    c.ropeLayout !== 'half' ? 'the writer takes a model in the half-split rope layout'
    : c.qkvBias ? 'q/k/v biases'
    : c.headDim * c.nHeads !== c.dim ? `head dim ${c.headDim} ≠ dim / heads`
    : Math.abs(c.normEps - 1e-5) > 1e-11 ? `rms eps ${c.normEps} ≠ 1e-5`
    : c.ropeTheta !== 10000 ? `rope theta ${c.ropeTheta} ≠ 10000`
    : c.ropeScaling ? 'rope scaling'
    : c.slidingWindow !== undefined ? 'a sliding window'
    : undefined;
  if (why) throw new FormatError(path, `llama2.c cannot express this model: ${why}`);
  const get = (name: string): Float32Array => {
    const t = model.tensors.get(name);
    if (!t) throw new FormatError(path, `model lacks tensor ${name}`);
    return t.data;
  };
  const layers = Array.from({ length: c.nLayers }, (_, l) => TENSOR_NAMES.layer(l));
  const hd = c.headDim;
  const freqs = (f: (x: number) => number) => {
    const t = new Float32Array(c.maxSeqLen * (hd / 2));
    for (let p = 0; p < c.maxSeqLen; p++) for (let i = 0; i < hd / 2; i++) t[p * (hd / 2) + i] = f(p / 10000 ** ((2 * i) / hd));
    return t;
  };
  const parts: Float32Array[] = [
    get(TENSOR_NAMES.embed),
    ...layers.map((n) => get(n.attnNorm)),
    ...layers.map((n) => halfToInterleaved(get(n.wq), c.nHeads, hd, c.dim)),
    ...layers.map((n) => halfToInterleaved(get(n.wk), c.nKvHeads, hd, c.dim)),
    ...layers.map((n) => get(n.wv)),
    ...layers.map((n) => get(n.wo)),
    ...layers.map((n) => get(n.ffnNorm)),
    ...layers.map((n) => get(n.wGate)),
    ...layers.map((n) => get(n.wDown)),
    ...layers.map((n) => get(n.wUp)),
    get(TENSOR_NAMES.finalNorm),
    freqs(Math.cos),
    freqs(Math.sin),
    ...(c.tiedEmbeddings ? [] : [get(TENSOR_NAMES.lmHead)]),
  ];
  const floats = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(LLAMA2C_V0_HEADER_BYTES + 4 * floats);
  const dv = new DataView(out.buffer);
  const header = [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.tiedEmbeddings ? c.vocabSize : -c.vocabSize, c.maxSeqLen];
  header.forEach((v, i) => dv.setInt32(4 * i, v, true));
  let pos = LLAMA2C_V0_HEADER_BYTES;
  for (const p of parts) for (let i = 0; i < p.length; i++, pos += 4) dv.setFloat32(pos, p[i]!, true);
  platform().writeFile(path, out);
}
