/**
 * Function-preserving growth of a trained model into a deeper one with more KV heads, so training can continue
 * with capacity the old run lacked instead of restarting:
 * - old layer i moves to floor(i · L′/L); the layers between are new and start as the identity
 *   (their output maps o_proj and down_proj are zero; their other weights keep their fresh initialisation);
 * - KV head j′ of a grown layer starts as a copy of the old KV head its query heads used, so every query head
 *   still reads the same keys and values (grouped-query attention becomes less grouped).
 * Width, heads, vocabulary and context stay. Moments are carried the same way (zero for new weights).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamW } from './adamw.js';
import type { TinyConfig } from './tiny-config.js';
import type { Params } from './tf-model.js';

/** Throws unless `from` can grow into `to` with the same function (only depth and KV heads may grow). */
export function checkGrowable(from: TinyConfig, to: TinyConfig): void {
  const same = ['dim', 'hiddenDim', 'nHeads', 'vocabSize', 'normEps', 'ropeTheta'] as const;
  const changed = same.filter((k) => from[k] !== to[k]);
  if (changed.length > 0) throw new Error(`growth keeps ${changed.join(', ')}: the saved run has ${changed.map((k) => `${k} ${from[k]}`).join(', ')}`);
  if (to.nLayers < from.nLayers) throw new Error(`growth cannot drop layers (${from.nLayers} → ${to.nLayers})`);
  if (to.nKvHeads < from.nKvHeads || to.nKvHeads % from.nKvHeads !== 0 || to.nHeads % to.nKvHeads !== 0)
    throw new Error(`KV heads grow by a whole factor that divides the heads (${from.nKvHeads} → ${to.nKvHeads}, ${to.nHeads} heads)`);
}

/** Where each old layer goes in the grown model. */
export const grownLayerIndex = (i: number, from: TinyConfig, to: TinyConfig) => Math.floor((i * to.nLayers) / from.nLayers);

/** Columns of a KV projection ([in, kv·hd], held transposed) with each old head repeated for the KV heads that replace it. */
function repeatKvHeads(w: tf.Tensor, from: TinyConfig, to: TinyConfig): tf.Tensor {
  const heads = tf.split(w, from.nKvHeads, 1);
  return tf.concat(heads.flatMap((h) => Array.from({ length: to.nKvHeads / from.nKvHeads }, () => h)), 1);
}

/** Copies `oldParams`/`oldOpt` (of config `from`) into freshly initialised `params`/`opt` (of config `to`). */
export function growInto(oldParams: Params, oldOpt: AdamW, from: TinyConfig, params: Params, opt: AdamW, to: TinyConfig): void {
  checkGrowable(from, to);
  const target = (name: string) => {
    const m = /^model\.layers\.(\d+)\.(.*)$/.exec(name);
    return m ? `model.layers.${grownLayerIndex(Number(m[1]), from, to)}.${m[2]}` : name;
  };
  const moved = new Set<string>();
  for (const [name, p] of oldParams) {
    const to_ = target(name);
    const kv = /self_attn\.[kv]_proj/.test(name);
    for (const [src, dst] of [[p, params.get(to_)], [oldOpt.m.get(name)!, opt.m.get(to_)], [oldOpt.v.get(name)!, opt.v.get(to_)]] as const) {
      if (!dst) throw new Error(`grown model has no ${to_}`);
      tf.tidy(() => dst.assign(kv ? repeatKvHeads(src, from, to) : src.clone()));
    }
    moved.add(to_);
  }
  // New layers start as the identity: nothing they compute reaches the residual stream until training moves their output maps.
  for (const [name, p] of params)
    if (!moved.has(name) && /(o_proj|down_proj)\.weight$/.test(name)) tf.tidy(() => p.assign(tf.zerosLike(p)));
  opt.step = oldOpt.step;
}
