import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { checkGrowable, grownLayerIndex } from '../../scripts/train-tiny/grow.js';
import { forward, ropeTables } from '../../scripts/train-tiny/tf-model.js';
import { configOf, train, useWasmBackend, type TrainOptions } from '../../scripts/train-tiny/train.js';
import { trainingBatch } from '../../scripts/train-tiny/training-data.js';

const root = mkdtempSync(join(tmpdir(), 'kvtrim-grow-'));
const tiny = (over: Partial<TrainOptions>): TrainOptions => ({
  dim: 32, hidden: 64, layers: 2, heads: 4, kvHeads: 1, seq: 96, batch: 2, steps: 6, lr: 1e-2, warmup: 2, seed: 5, copyShare: 1, lookupShare: 1, sumShare: 1, needleShare: 1, lookupMaxLines: 0, shotAnswerWeight: 1, mix: '',
  dir: join(root, 'small'), exportDir: '', checkpointEvery: 100, evalEvery: 0, evalN: 0, stopAfter: 0, log: () => {},
  ...over,
});

before(async () => {
  await useWasmBackend();
});
after(() => rmSync(root, { recursive: true, force: true }));

test('a grown model (more layers, more KV heads) computes the same logits as the trained one it grew from, then trains on', async () => {
  const small = tiny({});
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

test('growth refuses what it cannot preserve', () => {
  const c = configOf(tiny({}));
  assert.throws(() => checkGrowable(c, { ...c, dim: 64 }), /keeps dim/);
  assert.throws(() => checkGrowable(c, { ...c, nLayers: 1 }), /cannot drop layers/);
  assert.throws(() => checkGrowable({ ...c, nKvHeads: 2 }, { ...c, nKvHeads: 3 }), /whole factor/);
});
