import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/generate/rng.js';
import { headDim, type TinyConfig } from './tiny-config.js';

/**
 * x · w for 2-D x [n, in] and w [in, out], with a gradient that uses explicit transposes: tfjs's
 * built-in matMul gradient uses the transpose flags, 10–40× slower on the wasm backend.
 */
const linear = tf.customGrad((x, w, save) => {
  const [a, b] = [x as tf.Tensor2D, w as tf.Tensor2D];
  (save as tf.GradSaveFunc)([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, saved) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

const LINEARS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'] as const;

/** [in, out] shapes of a layer's linear maps (HF stores the transpose, [out, in]). */
function linearShapes(c: TinyConfig): Record<(typeof LINEARS)[number], [number, number]> {
  const hd = headDim(c);
  return {
    'self_attn.q_proj': [c.dim, c.nHeads * hd],
    'self_attn.k_proj': [c.dim, c.nKvHeads * hd],
    'self_attn.v_proj': [c.dim, c.nKvHeads * hd],
    'self_attn.o_proj': [c.nHeads * hd, c.dim],
    'mlp.gate_proj': [c.dim, c.hiddenDim],
    'mlp.up_proj': [c.dim, c.hiddenDim],
    'mlp.down_proj': [c.hiddenDim, c.dim],
  };
}

/** Parameters under HF names; linear weights are held transposed ([in, out]) for the fast matMul path. */
export type Params = Map<string, tf.Variable>;

/** True for the weights the trainer holds transposed relative to the HF layout. */
export const isLinear = (name: string) => LINEARS.some((l) => name.endsWith(`${l}.weight`));

let modelCount = 0;

/** Seeded initialisation: N(0, 0.02) embeddings, N(0, 1/in) linear maps (output maps scaled by 1/√(2L)), unit norms. */
export function initParams(c: TinyConfig, seed: number): Params {
  const rng = new Rng(seed);
  const normal = (n: number, std: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    return out;
  };
  const p: Params = new Map();
  // tfjs variable names are process-global; a per-model prefix lets tests build several models.
  const prefix = `m${++modelCount}/`;
  const add = (name: string, shape: number[], data: Float32Array) => p.set(name, tf.variable(tf.tensor(data, shape), true, prefix + name));
  add('model.embed_tokens.weight', [c.vocabSize, c.dim], normal(c.vocabSize * c.dim, 0.02));
  const shapes = linearShapes(c);
  for (let l = 0; l < c.nLayers; l++) {
    add(`model.layers.${l}.input_layernorm.weight`, [c.dim], new Float32Array(c.dim).fill(1));
    add(`model.layers.${l}.post_attention_layernorm.weight`, [c.dim], new Float32Array(c.dim).fill(1));
    for (const name of LINEARS) {
      const [i, o] = shapes[name];
      const out = name.endsWith('o_proj') || name.endsWith('down_proj') ? 1 / Math.sqrt(2 * c.nLayers) : 1;
      add(`model.layers.${l}.${name}.weight`, [i, o], normal(i * o, out / Math.sqrt(i)));
    }
  }
  add('model.norm.weight', [c.dim], new Float32Array(c.dim).fill(1));
  return p;
}

function rmsnorm(x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w);
}

/** HF rotate_half RoPE on [B, heads, T, hd]: pairs (i, i + hd/2) rotate by position · θ^(−2i/hd). */
function rope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]);
  const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
  return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], 3) as tf.Tensor4D;
}

export function ropeTables(c: TinyConfig, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = headDim(c) / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < half; i++) {
      const a = t / c.ropeTheta ** ((2 * i) / headDim(c));
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  return { cos: tf.tensor2d(cos, [T, half]), sin: tf.tensor2d(sin, [T, half]) };
}

/** Positions [start, start + length) of one row that attend only among themselves, with an additive mask [length, length]. */
export interface AttentionBlock {
  start: number;
  length: number;
  /** 0 where position i of the block may attend position j (same document, j ≤ i), −1e9 elsewhere. */
  mask: Float32Array;
}

/** What one forward pass needs besides the parameters: token ids [B, T] and, per row, blocks that tile [0, T). */
export interface Batch {
  ids: Int32Array;
  B: number;
  T: number;
  /**
   * Attention is computed per block, so a row of short documents costs Σ length² rather than T²
   * (cross-block entries of a full T × T mask would all be −1e9).
   */
  blocks: AttentionBlock[][];
}

/** Logits [B·T, vocab] of a batch (tied embeddings: the head is the embedding's transpose). */
export function forward(p: Params, c: TinyConfig, batch: Batch, rot: { cos: tf.Tensor2D; sin: tf.Tensor2D }): tf.Tensor2D {
  const { B, T } = batch;
  const hd = headDim(c);
  const group = c.nHeads / c.nKvHeads;
  const w = (name: string) => p.get(name)!;
  const embed = w('model.embed_tokens.weight') as tf.Tensor2D;
  let x = linear(tf.oneHot(tf.tensor1d(batch.ids, 'int32'), c.vocabSize).toFloat() as tf.Tensor2D, embed);
  const blocks = batch.blocks.map((row) => row.map((b) => ({ ...b, mask: tf.tensor2d(b.mask, [b.length, b.length]) })));
  const heads = (y: tf.Tensor2D, n: number) => tf.transpose(tf.reshape(y, [B, T, n, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
  const scale = 1 / Math.sqrt(hd);
  const cos = tf.slice(rot.cos, [0, 0], [T, -1]);
  const sin = tf.slice(rot.sin, [0, 0], [T, -1]);
  for (let l = 0; l < c.nLayers; l++) {
    const lw = (name: string) => w(`model.layers.${l}.${name}.weight`) as tf.Tensor2D;
    const xn = rmsnorm(x, lw('input_layernorm'), c.normEps);
    const q = tf.unstack(tf.reshape(rope(heads(linear(xn, lw('self_attn.q_proj')), c.nHeads), cos, sin), [B * c.nHeads, T, hd]));
    const k = tf.unstack(tf.reshape(rope(heads(linear(xn, lw('self_attn.k_proj')), c.nKvHeads), cos, sin), [B * c.nKvHeads, T, hd]));
    const v = tf.unstack(tf.reshape(heads(linear(xn, lw('self_attn.v_proj')), c.nKvHeads), [B * c.nKvHeads, T, hd]));
    // 2-D products per (row, head, block): batched 3-D matMul is far slower on this backend.
    const outs = q.map((qi, bh) => {
      const b = Math.floor(bh / c.nHeads);
      const kv = b * c.nKvHeads + Math.floor((bh % c.nHeads) / group);
      const rows = (t: tf.Tensor, blk: { start: number; length: number }) => tf.slice(t as tf.Tensor2D, [blk.start, 0], [blk.length, -1]);
      return tf.concat(
        blocks[b]!.map((blk) => {
          const scores = tf.add(tf.mul(linear(rows(qi, blk), tf.transpose(rows(k[kv]!, blk))), scale), blk.mask);
          return linear(tf.softmax(scores) as tf.Tensor2D, rows(v[kv]!, blk));
        }),
        0,
      );
    });
    const att = tf.reshape(tf.transpose(tf.reshape(tf.stack(outs), [B, c.nHeads, T, hd]), [0, 2, 1, 3]), [B * T, c.nHeads * hd]) as tf.Tensor2D;
    x = tf.add(x, linear(att, lw('self_attn.o_proj')));
    const hn = rmsnorm(x, lw('post_attention_layernorm'), c.normEps);
    const gate = linear(hn, lw('mlp.gate_proj'));
    x = tf.add(x, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(hn, lw('mlp.up_proj'))) as tf.Tensor2D, lw('mlp.down_proj')));
  }
  return linear(rmsnorm(x, w('model.norm.weight'), c.normEps), tf.transpose(embed) as tf.Tensor2D);
}

/** Weighted mean next-token cross-entropy; `targets[i]` is the token after position i, `weights[i]` 0 skips it. */
export function loss(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1])), -1));
  const wt = tf.tensor1d(weights);
  return tf.div(tf.sum(tf.mul(nll, wt)), tf.maximum(tf.sum(wt), 1e-6)) as tf.Scalar;
}
