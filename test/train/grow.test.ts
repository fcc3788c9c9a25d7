import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../scripts/train-tiny/adamw.js';
import { checkGrowable, growInto, grownLayerIndex } from '../../scripts/train-tiny/grow.js';
import { forward, initParams, ropeTables } from '../../scripts/train-tiny/tf-model.js';
import { configOf, train } from '../../scripts/train-tiny/train.js';
import { tinyTraining } from '../helpers/tiny-training.js';
import { trainingBatch } from '../../scripts/train-tiny/training-data.js';

const { root, tiny } = tinyTraining('grow');

test('a grown model (more layers, more KV heads) computes the same logits as the trained one it grew from, then trains on', async () => {
  const small = tiny({ kvHeads: 1, steps: 6, seed: 5, dir: join(root, 'small') });
  const { params: trained, config: from } = await train(small);
  const big = tiny({ layers: 5, kvHeads: 4, dir: join(root, 'big'), growFrom: small.dir, steps: 6 });
  const { params: grown, config: to, meta } = await train({ ...big, steps: 0 });
  assert.equal(meta.step, 6, 'the grown run continues from the saved step');
  assert.deepEqual(meta.phases?.at(-1), { fromStep: 6, options: { ...meta.options, growFrom: small.dir } });
  assert.equal(grown.get('model.layers.4.self_attn.k_proj.weight')!.shape[1], 4 * 8);
  const batch = trainingBatch(11, 0, 2, small.seq, 1, small);
  const rot = ropeTables(from, small.seq);
  const a = tf.tidy(() => forward(trained, from, batch, rot).dataSync() as Float32Array);
  const b = tf.tidy(() => forward(grown, to, batch, rot).dataSync() as Float32Array);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst <= 1e-5, `max |Δlogit| = ${worst}`);

  // Training moves the new layers off the identity.
  const { params: later, meta: laterMeta } = await train({ ...big, steps: 9 });
  assert.equal(laterMeta.step, 9);
  const newLayer = [0, 1, 2, 3, 4].find((l) => ![0, 1].some((i) => grownLayerIndex(i, from, to) === l))!;
  assert.ok(tf.tidy(() => tf.max(tf.abs(later.get(`model.layers.${newLayer}.self_attn.o_proj.weight`)!)).dataSync()[0]!) > 0);
});

test('growth leaves no tensor behind: only the grown parameters and moments remain', () => {
  const from = configOf(tiny({ kvHeads: 1 }));
  const to = configOf(tiny({ layers: 3, kvHeads: 2 }));
  const [oldParams, params] = [initParams(from, 1), initParams(to, 2)];
  const [oldOpt, opt] = [new AdamW(oldParams), new AdamW(params)];
  const before = tf.memory().numTensors;
  growInto(oldParams, oldOpt, from, params, opt, to);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([...oldParams.values(), ...oldOpt.m.values(), ...oldOpt.v.values(), ...params.values(), ...opt.m.values(), ...opt.v.values()]);
});

test('growth refuses what it cannot preserve', () => {
  const c = configOf(tiny({}));
  assert.throws(() => checkGrowable(c, { ...c, dim: 64 }), /keeps dim/);
  assert.throws(() => checkGrowable(c, { ...c, nLayers: 1 }), /cannot drop layers/);
  assert.throws(() => checkGrowable({ ...c, nKvHeads: 2 }, { ...c, nKvHeads: 3 }), /whole factor/);
});
